import { createRequire } from 'node:module';

type Trim = (pad: number) => number;

/** undefined: not tried yet; null: this process has no glibc malloc_trim (or no FFI to reach it). */
let trim: Trim | null | undefined;

/** Whether this process runs on glibc (Node's report names its runtime version only there). */
function onGlibc(): boolean {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return typeof header?.glibcVersionRuntime === 'string';
}

function bind(): Trim | null {
  if (process.platform !== 'linux' || !onGlibc()) return null;
  try {
    // koffi ships prebuilt binaries per platform (optional dependencies): nothing is built or fetched.
    const koffi = createRequire(import.meta.url)('koffi') as { load(path: string): { func(signature: string): Trim } };
    return koffi.load('libc.so.6').func('int malloc_trim(size_t pad)');
  } catch {
    return null; // no prebuilt binary for this platform: the process keeps what glibc keeps
  }
}

/**
 * Hands the free pages inside glibc's heaps back to the OS (`malloc_trim(0)`); false where that is
 * not available (not glibc, no FFI binary), which costs memory, never correctness.
 *
 * Why: loading a stage makes onnxruntime allocate and free hundreds of MB of temporaries (the
 * unit bytes it reads, MatMulNBits' packing) between allocations that stay. glibc returns freed
 * memory on its own only from the top of a heap, so the holes stayed resident: 40–60 MiB in a
 * 1B-shaped q4 ring peer, measured in docs/engines.md. A fixed `MALLOC_MMAP_THRESHOLD_` avoided
 * them but slowed every load and prefill; one trim after a load costs a few ms, once.
 */
export function releaseFreedHeap(): boolean {
  if (trim === undefined) trim = bind();
  if (trim === null) return false;
  trim(0);
  return true;
}
