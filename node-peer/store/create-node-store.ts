import type { CorruptPieceError } from '../../shared/pieces/errors.ts';
import type { ModelStore } from '../../shared/pieces/piece-store.ts';
import { withVerification } from '../../shared/pieces/with-verification.ts';
import { nodeSha256Hex } from '../crypto/node-sha256.ts';
import { DiskPieceStore } from './disk-piece-store.ts';

/** The store a node peer uses: the disk cache, verified on every read and write. */
export async function createNodeStore(dir: string, onCorrupt?: (err: CorruptPieceError) => void): Promise<ModelStore> {
  const disk = await DiskPieceStore.open(dir, { onCorrupt });
  return withVerification(disk, { onCorrupt, sha256Hex: nodeSha256Hex });
}
