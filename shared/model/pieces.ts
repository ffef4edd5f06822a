import { sha256Hex } from '../crypto/sha256.ts';
import { PieceHashMismatchError, PieceLengthError, UnitNotFoundError } from './errors.ts';
import type { ModelManifest, UnitEntry } from './manifest.ts';

/** Number of fixed-size pieces of a unit of `bytes` bytes (the last may be shorter). */
export function pieceCount(bytes: number, pieceSize: number): number {
  return Math.ceil(bytes / pieceSize);
}

/** Byte range [start, end) of piece `index` inside its unit file. */
export function pieceRange(unitBytes: number, pieceSize: number, index: number): { start: number; end: number } {
  const start = index * pieceSize;
  return { start, end: Math.min(start + pieceSize, unitBytes) };
}

/** Hex SHA-256 of each `pieceSize` slice of `bytes`, in order. */
export async function hashPieces(bytes: Uint8Array, pieceSize: number): Promise<string[]> {
  const hashes: string[] = [];
  for (let start = 0; start < bytes.length; start += pieceSize) {
    hashes.push(await sha256Hex(bytes.subarray(start, Math.min(start + pieceSize, bytes.length))));
  }
  return hashes;
}

export function findUnit(manifest: ModelManifest, unit: string): UnitEntry {
  const entry = manifest.units.find((u) => u.name === unit);
  if (entry === undefined) throw new UnitNotFoundError(unit);
  return entry;
}

/**
 * Checks one piece against the manifest before it is stored or served. Throws PieceLengthError or
 * PieceHashMismatchError (naming unit, index, expected and actual hash); `file` only decorates it.
 */
export async function verifyPiece(manifest: ModelManifest, unit: string, index: number, bytes: Uint8Array, file?: string): Promise<void> {
  const entry = findUnit(manifest, unit);
  const expected = entry.pieces[index];
  if (expected === undefined) throw new UnitNotFoundError(unit, `no piece ${index} (it has ${entry.pieces.length})`);
  const { start, end } = pieceRange(entry.bytes, manifest.pieceSize, index);
  if (bytes.length !== end - start) throw new PieceLengthError(unit, index, end - start, bytes.length);
  const actual = await sha256Hex(bytes);
  if (actual !== expected) throw new PieceHashMismatchError(unit, index, expected, actual, file);
}

/** Verifies every piece of a whole unit file's bytes. */
export async function verifyUnit(manifest: ModelManifest, unit: string, bytes: Uint8Array, file?: string): Promise<void> {
  const entry = findUnit(manifest, unit);
  if (bytes.length !== entry.bytes) throw new PieceLengthError(unit, -1, entry.bytes, bytes.length);
  for (let i = 0; i < entry.pieces.length; i++) {
    const { start, end } = pieceRange(entry.bytes, manifest.pieceSize, i);
    await verifyPiece(manifest, unit, i, bytes.subarray(start, end), file);
  }
}
