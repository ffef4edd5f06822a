// The ring needs the model's manifest before it can plan or load a stage; the swarm gets it from
// its store, its own package, a peer or the origin, whichever answers first.
import type { ModelManifest } from '../model/manifest.ts';
import type { PieceSwarm } from './piece-swarm.ts';

/** Resolves with the swarm's manifest once it has one; rejects with `timeoutError()` after timeoutMs. */
export function waitForManifest(swarm: PieceSwarm, timeoutMs: number, timeoutError: () => Error): Promise<ModelManifest> {
  const now = swarm.manifest;
  if (now !== undefined) return Promise.resolve(now);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(timeoutError());
    }, timeoutMs);
    // The swarm emits progress right after it accepts a manifest.
    const off = swarm.on('progress', () => {
      const m = swarm.manifest;
      if (m === undefined) return;
      clearTimeout(timer);
      off();
      resolve(m);
    });
  });
}
