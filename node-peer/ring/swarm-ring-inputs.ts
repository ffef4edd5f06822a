// What the ring needs from the piece side on a Node peer besides the manifest: the tokenizer, read
// from the package or origin, else fetched from peers (docs/pieces.md, "Tokenizer"), hash-checked
// either way and from then on served to peers that ask.
import type { ModelManifest } from '../../shared/model/manifest.ts';
import type { PieceSwarm } from '../../shared/pieces/piece-swarm.ts';
import { fetchTokenizerFromPeers } from '../../shared/pieces/tokenizer-exchange.ts';
import { systemClock } from '../../shared/util/clock.ts';
import { createTokenizer } from '../../shared/tokenizer/create-tokenizer.ts';
import type { Tokenizer } from '../../shared/tokenizer/tokenizer.ts';
import { nodeSha256Hex } from '../crypto/node-sha256.ts';
import { TokenizerMismatchError } from './node-errors.ts';

/**
 * The model's tokenizer from `files` (own package or origin), else from the swarm's peers within
 * `peerWaitMs`; null when no peer sent a verified copy in that time. A package or origin whose copy
 * does not match the manifest throws TokenizerMismatchError (the operator's package is wrong).
 */
export async function loadTokenizer(
  swarm: Pick<PieceSwarm, 'holdTokenizer' | 'connectedPeers' | 'probePeer' | 'ban'>,
  files: { read(path: string): Promise<Uint8Array> } | undefined,
  manifest: ModelManifest,
  peerWaitMs: number,
): Promise<Tokenizer | null> {
  const entry = manifest.tokenizer;
  let bytes: Uint8Array | undefined;
  if (files !== undefined) {
    bytes = await files.read(entry.file);
    const hash = await nodeSha256Hex(bytes);
    if (hash !== entry.sha256) throw new TokenizerMismatchError(entry.file, entry.sha256, hash);
  } else {
    bytes = await fetchTokenizerFromPeers(entry, swarm, { clock: systemClock, timeoutMs: peerWaitMs, sha256Hex: nodeSha256Hex });
    if (bytes === undefined) return null;
  }
  swarm.holdTokenizer(bytes);
  return createTokenizer(entry, bytes, manifest.architecture.vocabSize);
}
