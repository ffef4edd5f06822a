import type { ModelManifest, UnitName } from '../model/manifest.ts';

/** One fixed-size slice of a unit file, addressed by its SHA-256 (content addressing). */
export interface PieceRef {
  readonly unit: UnitName;
  readonly index: number;
  /** Hex SHA-256 from the manifest; the store key. */
  readonly hash: string;
  /** The unit's file inside the package (`layer-003.bin`). */
  readonly file: string;
  /** Byte offset inside that file. */
  readonly offset: number;
  readonly length: number;
}

/** Stable human-readable name for messages and maps: `layer-003#7`. */
export function pieceName(p: { unit: string; index: number }): string {
  return `${p.unit}#${p.index}`;
}

/** Every piece of the given units (all units when omitted), in manifest order. */
export function piecesOf(manifest: ModelManifest, units?: readonly UnitName[]): PieceRef[] {
  const wanted = units ? new Set<string>(units) : undefined;
  const out: PieceRef[] = [];
  for (const u of manifest.units) {
    if (wanted && !wanted.has(u.name)) continue;
    u.pieces.forEach((hash, index) => {
      const offset = index * manifest.pieceSize;
      out.push({ unit: u.name, index, hash, file: u.file, offset, length: Math.min(manifest.pieceSize, u.bytes - offset) });
    });
  }
  return out;
}

/** Total bytes of a list of pieces. */
export function bytesOf(pieces: readonly PieceRef[]): number {
  let n = 0;
  for (const p of pieces) n += p.length;
  return n;
}
