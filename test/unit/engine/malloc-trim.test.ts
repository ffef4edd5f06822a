import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const CHILD = join(import.meta.dirname, '../../util/heap-holes-child.ts');

// In a process of its own: the test runner's other workers would move this one's RSS.
describe('releaseFreedHeap', () => {
  it('returns the holes that freed buffers leave in glibc’s heap to the OS', () => {
    const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', CHILD], { encoding: 'utf8' });
    const r = JSON.parse(out) as { trimmed: boolean; before: number; after: number; freedBytes: number };
    expect(r.trimmed).toBe(true); // this project's machines run glibc on Linux
    // Most of the 100 MiB freed between live buffers was still resident, and the trim hands it back.
    expect(r.before - r.after).toBeGreaterThan(0.6 * r.freedBytes);
  });
});
