import { describe, expect, it } from 'vitest';
import { interleavedToRotateHalf, rotateHalfToInterleaved } from '../../../node-peer/convert/rope-permute.ts';

describe('q/k row permutation', () => {
  it('moves interleaved pairs (2j, 2j+1) to rotate-half rows (j, j + headDim/2) per head', () => {
    // 2 heads × headDim 4, inDim 1: row value = original row index.
    const w = Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
    expect([...interleavedToRotateHalf(w, 2, 4, 1)]).toEqual([0, 2, 1, 3, 4, 6, 5, 7]);
  });

  it('matches view [heads, hd/2, 2, in] → transpose(1, 2) → reshape, and inverts', () => {
    const heads = 3,
      hd = 6,
      inDim = 5;
    const w = Float32Array.from({ length: heads * hd * inDim }, (_, i) => i);
    const p = interleavedToRotateHalf(w, heads, hd, inDim);
    for (let h = 0; h < heads; h++)
      for (let t = 0; t < 2; t++)
        for (let j = 0; j < hd / 2; j++)
          for (let c = 0; c < inDim; c++) expect(p[(h * hd + t * (hd / 2) + j) * inDim + c]).toBe(w[(h * hd + 2 * j + t) * inDim + c]);
    expect(rotateHalfToInterleaved(p, heads, hd, inDim)).toEqual(w);
  });
});
