import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHalfBits, toHalfBits } from '../../../shared/util/half-float.ts';
import { dequantize, fromGgufBlocks, quantize, quantLayout, QUANT_BLOCK } from '../../../shared/model/quant-blocks.ts';
import { tensorStorageBytes, tensorDTypeFor } from '../../../shared/model/tensor-dtypes.ts';
import { quantizeQ4_0, quantizeQ8_0 } from '../../util/gguf-writer.ts';

const rowsOf = (r: number, c: number, seed: number): Float32Array => {
  let s = seed >>> 0;
  return Float32Array.from({ length: r * c }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 2;
  });
};

describe('block quantization', () => {
  it('lays out codes, padding to 64 and fp16 scales (partial last block counted whole)', () => {
    expect(quantLayout('q8', 3, 40)).toMatchObject({ blocksPerRow: 2, blockBytes: 32, dataBytes: 192, scalesOffset: 192, scalesBytes: 12, bytes: 204 });
    expect(quantLayout('q4', 3, 40)).toMatchObject({ blocksPerRow: 2, blockBytes: 16, dataBytes: 96, scalesOffset: 128, scalesBytes: 12, bytes: 140 });
    expect(tensorStorageBytes('q4', [3, 40])).toBe(140);
    expect(tensorStorageBytes('q4', [40])).toBeNull();
    expect(tensorStorageBytes('fp16', [3, 40])).toBe(240);
  });

  it.each(['q8', 'q4'] as const)('%s: every value within half a step of its block scale (q4: a step at the clipped extreme), padding dropped', (dtype) => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 100 }), fc.integer(), (r, c, seed) => {
        const x = rowsOf(r, c, seed);
        const y = dequantize(dtype, quantize(dtype, x, r, c), r, c);
        expect(y.length).toBe(r * c);
        for (let row = 0; row < r; row++) {
          for (let b = 0; b * QUANT_BLOCK < c; b++) {
            const idx = Array.from({ length: Math.min(QUANT_BLOCK, c - b * QUANT_BLOCK) }, (_, i) => row * c + b * QUANT_BLOCK + i);
            const amax = Math.max(...idx.map((i) => Math.abs(x[i] as number)));
            // q8: a step of amax/127, rounded to nearest. q4 (GGUF Q4_0): 16 codes over [-8d, 7d] with
            // |d| = amax/8, so the extreme opposite the largest value clips to 7d: one whole step.
            const bound = dtype === 'q8' ? amax / 254 : amax / 8;
            for (const i of idx) expect(Math.abs((y[i] as number) - (x[i] as number))).toBeLessThanOrEqual(bound + amax * 1e-3 + 1e-7);
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it('an all-zero block stays zero (no division by zero)', () => {
    for (const dtype of ['q8', 'q4'] as const)
      expect(Array.from(dequantize(dtype, quantize(dtype, new Float32Array(64), 2, 32), 2, 32), (v) => v + 0)).toEqual(new Array(64).fill(0));
  });

  it('GGUF Q8_0 and Q4_0 blocks map onto the same values without re-quantizing', () => {
    const d = toHalfBits(0.125);
    const codes = Array.from({ length: 32 }, (_, i) => i - 16); // int8 -16 … 15
    const q8 = new Uint8Array(34);
    q8[0] = d & 255;
    q8[1] = d >> 8;
    codes.forEach((c, i) => (q8[2 + i] = c & 255));
    expect(Array.from(dequantize('q8', fromGgufBlocks('q8', q8, 1, 32), 1, 32))).toEqual(codes.map((c) => c * fromHalfBits(d)));
    // Q4_0: byte j holds element j (low nibble) and element j+16 (high nibble); value (n − 8)·d.
    const nib = Array.from({ length: 32 }, (_, i) => (i * 7) % 16);
    const q4 = new Uint8Array(18);
    q4[0] = d & 255;
    q4[1] = d >> 8;
    for (let j = 0; j < 16; j++) q4[2 + j] = (nib[j] as number) | ((nib[j + 16] as number) << 4);
    expect(Array.from(dequantize('q4', fromGgufBlocks('q4', q4, 1, 32), 1, 32))).toEqual(nib.map((n) => (n - 8) * fromHalfBits(d)));
  });

  it("gives ggml's reference bytes (float32 arithmetic, halves away from zero) on 1 Mi values", () => {
    const rows = 512;
    const cols = 2048;
    const x = rowsOf(rows, cols, 5).map((v) => v * 0.02);
    for (const [dtype, ref, size] of [
      ['q8', quantizeQ8_0, 34],
      ['q4', quantizeQ4_0, 18],
    ] as const) {
      const blocks = (rows * cols) / 32;
      const gguf = new Uint8Array(blocks * size);
      for (let b = 0; b < blocks; b++) ref(x.subarray(b * 32, b * 32 + 32), gguf, b * size);
      expect(quantize(dtype, x, rows, cols)).toEqual(fromGgufBlocks(dtype, gguf, rows, cols));
    }
  });

  it('re-quantizing dequantized GGUF-style values is exact (same d, same codes)', () => {
    const x = rowsOf(4, 64, 9);
    for (const dtype of ['q8', 'q4'] as const) {
      const once = quantize(dtype, x, 4, 64);
      expect(quantize(dtype, dequantize(dtype, once, 4, 64), 4, 64)).toEqual(once);
    }
  });
});

describe('tensorDTypeFor', () => {
  it('quantizes layer matrices; keeps norms and biases fp32; embedding and head q8 in a q4 package', () => {
    expect(tensorDTypeFor('layers.3.down.weight', [64, 172], 'q4')).toBe('q4');
    expect(tensorDTypeFor('layers.3.attn_norm.weight', [64], 'q4')).toBe('fp32');
    expect(tensorDTypeFor('layers.3.q.bias', [64], 'q8')).toBe('fp32');
    expect(tensorDTypeFor('embed.weight', [512, 64], 'q4')).toBe('q8');
    expect(tensorDTypeFor('lm_head.weight', [512, 64], 'q4')).toBe('q8');
    expect(tensorDTypeFor('layers.0.attn_norm.weight', [64], 'fp16')).toBe('fp16');
  });
});
