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

declare const pieceKeyBrand: unique symbol;

/**
 * A piece's name in maps, sets, scheduler state and messages: `layer-003#7`. Branded so that a
 * key is only ever made by `pieceKey`: every peer must spell a piece the same way (origin
 * assignment hashes the key), and a string that merely looks like one does not type-check.
 */
export type PieceKey = string & { readonly [pieceKeyBrand]: true };

/** The one place a piece key is spelled. */
export function pieceKey(unit: string, index: number): PieceKey {
  return `${unit}#${index}` as PieceKey;
}

/** The key of a piece reference (or anything with a unit and an index). */
export function keyOf(p: { readonly unit: string; readonly index: number }): PieceKey {
  return pieceKey(p.unit, p.index);
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
