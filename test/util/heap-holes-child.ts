// Child of malloc-trim.test.ts: leaves ~100 MiB of holes in glibc's main heap (every other 64 KiB
// buffer freed, the rest kept), then reports VmRSS before and after `releaseFreedHeap`.
import { readFileSync } from 'node:fs';
import { releaseFreedHeap } from '../../node-peer/engine/malloc-trim.ts';

const CHUNK = 64 * 1024; // under glibc's mmap threshold: served from the heap, not a mapping of its own
const COUNT = 3200;
const rss = (): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) * 1024;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

/** Every other buffer is returned; the rest die with this frame (none of its registers survives it). */
function interleaved(): Buffer[] {
  const kept: Buffer[] = [];
  const dropped: Buffer[] = [];
  for (let i = 0; i < COUNT; i++) (i % 2 === 0 ? kept : dropped).push(Buffer.allocUnsafeSlow(CHUNK).fill(i & 0xff)); // written: resident
  return kept;
}

const kept = interleaved();
await new Promise((r) => setTimeout(r, 0));
gc();
// V8 frees backing stores from a background sweeper: wait, bounded, until the dropped half is gone.
for (let i = 0; i < 100 && process.memoryUsage().arrayBuffers > (kept.length + 128) * CHUNK; i++) await new Promise((r) => setTimeout(r, 50));
const buffers = process.memoryUsage().arrayBuffers;
const before = rss();
const trimmed = releaseFreedHeap();
const after = rss();
process.stdout.write(JSON.stringify({ trimmed, buffers, before, after, freedBytes: (COUNT / 2) * CHUNK, kept: kept.length }));
