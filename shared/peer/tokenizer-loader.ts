// The model's tokenizer for a peer (docs/pieces.md, "Tokenizer"): from its own package, else the
// origin, else (none, or unreadable) fetched from peers; hash-checked whichever gave it, and from then on served to
// peers that ask (`holdTokenizer`), so a peer joined by model id without an origin gets it too.
import { sha256Hex as webSha256Hex } from '../crypto/sha256.ts';
import type { ModelManifest } from '../model/manifest.ts';
import type { Origin } from '../pieces/origin.ts';
import { fetchTokenizerFromPeers, type TokenizerPeers } from '../pieces/tokenizer-exchange.ts';
import { createTokenizer } from '../tokenizer/create-tokenizer.ts';
import type { Tokenizer } from '../tokenizer/tokenizer.ts';
import type { Clock } from '../util/clock.ts';
import { TokenizerMismatchError } from './errors.ts';

export interface TokenizerSources {
  /** The swarm: asked when neither package nor origin is there, and given the verified bytes to serve. */
  readonly swarm: TokenizerPeers & { holdTokenizer(bytes: Uint8Array): void };
  /** This peer's own package (a seed). */
  readonly localPackage?: Origin;
  readonly origin?: Origin;
  readonly clock: Clock;
  /** How long to wait for a peer to send a verified copy (then: none). */
  readonly peerWaitMs: number;
  /** SHA-256 as hex (default WebCrypto; a Node peer passes node:crypto's, which is synchronous). */
  readonly sha256Hex?: (d: Uint8Array) => Promise<string> | string;
}

export interface LoadedTokenizer {
  readonly tokenizer: Tokenizer;
  /** The file itself (chat templates read BOS/EOS text from it). */
  readonly bytes: Uint8Array;
}

/**
 * The manifest's tokenizer, or null when no peer sent a verified copy within `peerWaitMs`. A
 * package or origin whose copy does not match the manifest throws TokenizerMismatchError (the
 * operator's files are wrong); an origin that cannot be read (a page's default origin without the
 * model) leaves it to the peers.
 */
export async function loadTokenizer(manifest: ModelManifest, s: TokenizerSources): Promise<LoadedTokenizer | null> {
  const entry = manifest.tokenizer;
  const hashOf = s.sha256Hex ?? webSha256Hex;
  const fromFiles = async (files: Origin): Promise<Uint8Array> => {
    const data = await files.read(entry.file);
    const hash = await hashOf(data);
    if (hash !== entry.sha256) throw new TokenizerMismatchError(entry.file, entry.sha256, hash);
    return data;
  };
  let bytes: Uint8Array | undefined;
  if (s.localPackage !== undefined) bytes = await fromFiles(s.localPackage);
  else if (s.origin !== undefined)
    bytes = await fromFiles(s.origin).catch((err: unknown) => {
      if (err instanceof TokenizerMismatchError) throw err;
      return undefined;
    });
  bytes ??= await fetchTokenizerFromPeers(entry, s.swarm, { clock: s.clock, timeoutMs: s.peerWaitMs, sha256Hex: hashOf });
  if (bytes === undefined) return null;
  s.swarm.holdTokenizer(bytes);
  return { tokenizer: createTokenizer(entry, bytes, manifest.architecture.vocabSize), bytes };
}
