import { sha256Hex } from '../crypto/sha256.ts';
import type { ModelManifest } from '../model/manifest.ts';
import { parseManifest } from '../model/manifest-schema.ts';
import { canonicalJsonBytes } from '../model/canonical-json.ts';
import { ManifestMismatchError } from './errors.ts';

/**
 * The manifest as it travels between peers and sits in stores: its canonical JSON bytes, whose
 * SHA-256 is the model id. A peer asking for a model by id can therefore check a manifest from an
 * untrusted peer exactly like a piece.
 */
export interface ManifestPiece {
  readonly manifest: ModelManifest;
  readonly bytes: Uint8Array;
}

/** Parses manifest.json text/bytes as written anywhere (pretty or not) and checks it against `modelId`. */
export async function manifestFromFile(
  modelId: string | undefined,
  fileBytes: Uint8Array,
  label = 'manifest.json',
): Promise<ManifestPiece & { modelId: string }> {
  const json: unknown = JSON.parse(new TextDecoder().decode(fileBytes));
  const bytes = canonicalJsonBytes(json);
  const id = await sha256Hex(bytes);
  if (modelId !== undefined && id !== modelId) throw new ManifestMismatchError(modelId, id);
  return { manifest: parseManifest(json, label), bytes, modelId: id };
}
