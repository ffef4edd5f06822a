// A swarm's progress from its piece sets (docs/pieces.md, "Progress"). Pure, so what a returning
// peer reports is tested without a swarm.
import { keyOf, type PieceKey, type PieceRef } from './piece-ref.ts';
import type { SwarmProgress } from './progress.ts';

export interface ProgressInput {
  readonly modelId: string;
  /** The pieces this peer fetches and keeps (its partition, replicas, units asked for). */
  readonly wanted: readonly { readonly ref: PieceRef }[];
  /** Keys (`unit#i`) held verified now. */
  readonly held: ReadonlySet<PieceKey>;
  /** Keys found verified in the store when the manifest was accepted, with their lengths. */
  readonly cached: ReadonlyMap<PieceKey, number>;
  /** Bytes imported from this peer's own package (a seed), counted as cache too. */
  readonly fromPackage: number;
  readonly fromPeers: number;
  readonly fromOrigin: number;
  readonly served: number;
  readonly peers: number;
}

/**
 * Counts the wanted pieces and, beside them, every piece found in the store at start and still
 * held: a returning peer holds (and serves) those whether or not its partition wants them yet, so
 * its progress shows them done and from cache instead of `0 / 0` until a plan names its layers.
 */
export function swarmProgress(i: ProgressInput): SwarmProgress {
  const seen = new Set<PieceKey>();
  let piecesDone = 0;
  let bytesDone = 0;
  let bytesTotal = 0;
  let fromCache = i.fromPackage;
  const count = (key: PieceKey, length: number): void => {
    if (seen.has(key)) return;
    seen.add(key);
    bytesTotal += length;
    if (!i.held.has(key)) return;
    piecesDone++;
    bytesDone += length;
    if (i.cached.has(key)) fromCache += length;
  };
  for (const w of i.wanted) count(keyOf(w.ref), w.ref.length);
  for (const [key, length] of i.cached) if (i.held.has(key)) count(key, length);
  return {
    modelId: i.modelId,
    fromCache,
    fromPeers: i.fromPeers,
    fromOrigin: i.fromOrigin,
    served: i.served,
    piecesDone,
    piecesTotal: seen.size,
    bytesDone,
    bytesTotal,
    peers: i.peers,
  };
}
