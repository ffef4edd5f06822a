/**
 * Helper threads for the kernel engine's matrix-vector products (docs/engines.md, "The WASM
 * kernel engine"). The heap's memory is shared; each helper instantiates the same kernels over it
 * and takes a fixed share of every product's rows while the engine's own thread computes the
 * first share. Jobs pass through a control block in that memory with Atomics: a helper spins for a
 * short while after a job (the next product of a decode step follows within microseconds, far
 * sooner than a sleeping thread wakes) and then sleeps in Atomics.wait until the next one.
 */

import { KernelThreadError } from './errors.ts';

/** How long a product waits for its helpers (their first start included) before it fails. */
const HELPER_TIMEOUT_MS = 30_000;

/** Int32 slots of the control block. */
export const CONTROL = { seq: 0, done: 1, kernel: 2, w: 3, sw: 4, xq: 5, xs: 6, out: 7, rows: 8, blocks: 9, stop: 10, rowBytes: 11 } as const;
export const CONTROL_BYTES = 64;

/** What a helper is started with (structured-cloneable: a Module and a shared Memory post as they are). */
export interface KernelHelperInit {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  /** Heap address of the control block. */
  readonly control: number;
  /** This helper's share: rows [⌊rows·index/parts⌋, ⌊rows·(index+1)/parts⌋). */
  readonly index: number;
  readonly parts: number;
  /** How long a helper spins for the next job before it sleeps. */
  readonly spinMs: number;
}

/** Starts one helper running KERNEL_HELPER_SOURCE with `init`; Node and browsers differ here only. */
export interface KernelThreadSpawner {
  spawn(source: string, init: KernelHelperInit): { terminate(): void };
}

/**
 * The helper, as source text: a Node worker (eval) and a browser Blob worker run the same code,
 * and plain JavaScript keeps it safe from what a bundler would add to a compiled function.
 */
export const KERNEL_HELPER_SOURCE = `
const start = (init) => {
  const { module, memory, control, index, parts, spinMs } = init;
  const { exports } = new WebAssembly.Instance(module, { env: { memory } });
  const kernels = [exports.matvec_q8, exports.matvec_q4];
  const c = new Int32Array(memory.buffer, control, 16);
  // 0, not the current count: a job posted before this helper started is still its to do.
  let seen = 0;
  for (;;) {
    const idleSince = performance.now();
    let spins = 0;
    while (Atomics.load(c, ${CONTROL.seq}) === seen) {
      if ((++spins & 1023) === 0 && performance.now() - idleSince > spinMs) Atomics.wait(c, ${CONTROL.seq}, seen, 1000);
    }
    seen = Atomics.load(c, ${CONTROL.seq});
    if (Atomics.load(c, ${CONTROL.stop}) !== 0) return;
    const rows = c[${CONTROL.rows}];
    const from = Math.floor((rows * index) / parts);
    const to = Math.floor((rows * (index + 1)) / parts);
    if (to > from) {
      const blocks = c[${CONTROL.blocks}];
      kernels[c[${CONTROL.kernel}]](c[${CONTROL.w}] + from * c[${CONTROL.rowBytes}], c[${CONTROL.sw}] + from * blocks * 4, c[${CONTROL.xq}], c[${CONTROL.xs}], c[${CONTROL.out}] + from * 4, to - from, blocks);
    }
    Atomics.add(c, ${CONTROL.done}, 1);
    Atomics.notify(c, ${CONTROL.done});
  }
};
if (typeof self !== 'undefined' && typeof self.postMessage === 'function') {
  self.onmessage = (e) => start(e.data);
} else {
  require('node:worker_threads').parentPort.once('message', start);
}
`;

/** The engine thread's side: hands each product's other shares to the helpers and waits for them. */
export class KernelThreads {
  private readonly helpers: { terminate(): void }[] = [];
  private seq = 0;
  private stopped = false;

  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly control: number,
    module: WebAssembly.Module,
    readonly parts: number,
    spawner: KernelThreadSpawner,
    spinMs = 0.5,
  ) {
    for (let index = 1; index < parts; index++) this.helpers.push(spawner.spawn(KERNEL_HELPER_SOURCE, { module, memory, control, index, parts, spinMs }));
  }

  private view(): Int32Array {
    return new Int32Array(this.memory.buffer, this.control, 16);
  }

  /**
   * Runs kernel `kernel` (0: q8, 1: q4) over all `rows`: the helpers' shares on them, the first share
   * through `own` here, then waits until every helper is done.
   */
  run(
    kernel: 0 | 1,
    args: { w: number; sw: number; xq: number; xs: number; out: number; rows: number; blocks: number; rowBytes: number },
    own: (from: number, to: number) => void,
  ): void {
    if (this.stopped) throw new RangeError('kernel threads were stopped');
    const c = this.view();
    c[CONTROL.kernel] = kernel;
    c[CONTROL.w] = args.w;
    c[CONTROL.sw] = args.sw;
    c[CONTROL.xq] = args.xq;
    c[CONTROL.xs] = args.xs;
    c[CONTROL.out] = args.out;
    c[CONTROL.rows] = args.rows;
    c[CONTROL.blocks] = args.blocks;
    c[CONTROL.rowBytes] = args.rowBytes;
    Atomics.store(c, CONTROL.done, 0);
    Atomics.store(c, CONTROL.seq, ++this.seq);
    Atomics.notify(c, CONTROL.seq);
    const to = Math.floor(args.rows / this.parts);
    if (to > 0) own(0, to);
    const helpers = this.parts - 1;
    // The helpers' shares take as long as ours: spin, they are nearly done. A helper that never
    // answers (its thread failed to start or died) fails this run instead of hanging the peer.
    const since = performance.now();
    let spins = 0;
    while (Atomics.load(c, CONTROL.done) < helpers) {
      if ((++spins & 4095) === 0 && performance.now() - since > HELPER_TIMEOUT_MS) {
        this.stop();
        throw new KernelThreadError(HELPER_TIMEOUT_MS);
      }
    }
  }

  /** Stops and ends the helpers; idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    const c = this.view();
    Atomics.store(c, CONTROL.stop, 1);
    Atomics.store(c, CONTROL.seq, ++this.seq);
    Atomics.notify(c, CONTROL.seq);
    for (const h of this.helpers) h.terminate();
  }
}
