// What the ring needs from the piece side on a Node peer besides the manifest: the tokenizer (read
// from the package or origin and hash-checked).
import { sha256Hex } from '../../shared/crypto/sha256.ts';
import type { ModelManifest } from '../../shared/model/manifest.ts';
import { createTokenizer } from '../../shared/tokenizer/create-tokenizer.ts';
import type { Tokenizer } from '../../shared/tokenizer/tokenizer.ts';
import { TokenizerMismatchError } from './node-errors.ts';

/** The model's tokenizer from `files` (own package or origin), or null when there is no such source. */
export async function loadTokenizer(files: { read(path: string): Promise<Uint8Array> } | undefined, manifest: ModelManifest): Promise<Tokenizer | null> {
  if (files === undefined) return null;
  const entry = manifest.tokenizer;
  const bytes = await files.read(entry.file);
  const hash = await sha256Hex(bytes);
  if (hash !== entry.sha256) throw new TokenizerMismatchError(entry.file, entry.sha256, hash);
  return createTokenizer(entry, bytes, manifest.architecture.vocabSize);
}
