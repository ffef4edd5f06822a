import { describe, expect, it } from 'vitest';
import { PieceHashMismatchError, PieceLengthError, UnitNotFoundError } from '../../../shared/model/errors.ts';
import { MANIFEST_FORMAT, type ModelManifest } from '../../../shared/model/manifest.ts';
import { hashPieces, pieceRange, verifyPiece, verifyUnit } from '../../../shared/model/pieces.ts';

const unit = new Uint8Array(100).map((_, i) => (i * 7) & 0xff);

async function manifest(): Promise<ModelManifest> {
  return {
    format: MANIFEST_FORMAT,
    name: 'm',
    architecture: {} as ModelManifest['architecture'],
    dtype: 'fp32',
    pieceSize: 40,
    tokenizer: {} as ModelManifest['tokenizer'],
    units: [{ name: 'embed', file: 'embed.bin', bytes: 100, pieces: await hashPieces(unit, 40) }],
    tensors: [],
  };
}

describe('piece verification', () => {
  it('accepts each genuine piece and the whole unit', async () => {
    const m = await manifest();
    for (let i = 0; i < 3; i++) {
      const { start, end } = pieceRange(100, 40, i);
      await verifyPiece(m, 'embed', i, unit.subarray(start, end));
    }
    expect(pieceRange(100, 40, 2)).toEqual({ start: 80, end: 100 });
    await verifyUnit(m, 'embed', unit);
  });

  it('rejects a tampered piece naming unit, index, expected and actual hash', async () => {
    const m = await manifest();
    const bad = unit.slice(40, 80);
    bad[3] = (bad[3] as number) ^ 0x80;
    const err = await verifyPiece(m, 'embed', 1, bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PieceHashMismatchError);
    const e = err as PieceHashMismatchError;
    expect([e.unit, e.piece, e.expected]).toEqual(['embed', 1, m.units[0]?.pieces[1]]);
    expect(e.actual).toBe((await hashPieces(bad, 40))[0]);
  });

  it('rejects wrong lengths, unknown units and piece indexes', async () => {
    const m = await manifest();
    await expect(verifyPiece(m, 'embed', 2, unit.subarray(80, 99))).rejects.toBeInstanceOf(PieceLengthError);
    await expect(verifyPiece(m, 'head', 0, unit)).rejects.toBeInstanceOf(UnitNotFoundError);
    await expect(verifyPiece(m, 'embed', 3, unit)).rejects.toBeInstanceOf(UnitNotFoundError);
    await expect(verifyUnit(m, 'embed', unit.subarray(0, 99))).rejects.toBeInstanceOf(PieceLengthError);
  });
});
