import { Worker } from 'node:worker_threads';
import type { KernelThreadSpawner } from '../../shared/engine/kernel/kernel-threads.ts';

/** The kernel engine's helper threads in Node: worker_threads running the helper source as given. */
export const nodeKernelThreadSpawner: KernelThreadSpawner = {
  spawn(source, init) {
    const worker = new Worker(source, { eval: true });
    worker.postMessage(init);
    // A helper never keeps the process alive: it sleeps in Atomics.wait between decode steps.
    worker.unref();
    return {
      terminate: () => {
        void worker.terminate();
      },
    };
  },
};
