import { sha256Hex } from '../crypto/sha256.ts';
import { asModelId, type ModelId } from '../ids.ts';
import { canonicalJsonBytes } from './canonical-json.ts';

/**
 * Model id = hex SHA-256 of the canonical JSON bytes of the manifest as parsed from its file
 * (unknown members included), so no part of a manifest can change without changing the id.
 */
export async function computeModelId(manifestJson: unknown): Promise<ModelId> {
  return asModelId(await sha256Hex(canonicalJsonBytes(manifestJson)));
}
