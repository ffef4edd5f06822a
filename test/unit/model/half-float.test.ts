import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bf16ToFloat32,
  float32ToBf16,
  float32ToHalf,
  fromBf16Bits,
  fromHalfBits,
  halfToFloat32,
  toBf16Bits,
  toHalfBits,
} from '../../../shared/util/half-float.ts';

describe('fp16 codec', () => {
  it('encodes known values exactly (IEEE binary16)', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [0.5, 0x3800],
      [2 ** -14, 0x0400],
      [2 ** -24, 0x0001],
      [65520, 0x7c00],
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [1 + 2 ** -11, 0x3c00],
      [1 + 3 * 2 ** -11, 0x3c02],
      [2 ** -25, 0x0000],
      [1.5 * 2 ** -25, 0x0001],
    ];
    for (const [v, bits] of cases) expect(toHalfBits(v), String(v)).toBe(bits);
    expect(Number.isNaN(fromHalfBits(toHalfBits(NaN)))).toBe(true);
  });

  it('round-trips every fp16 bit pattern', () => {
    const wrong: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      const v = fromHalfBits(h);
      if (!Number.isNaN(v) && toHalfBits(v) !== h) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('rounds to the nearest representable value', () => {
    fc.assert(
      fc.property(fc.float({ min: -60000, max: 60000, noNaN: true }), (x) => {
        const back = fromHalfBits(toHalfBits(x));
        expect(Math.abs(back - x)).toBeLessThanOrEqual(Math.max(Math.abs(x) * 2 ** -11, 2 ** -25));
      }),
    );
    const arr = Float32Array.from([0.1, -3.25, 1e-6, 7]);
    expect(halfToFloat32(float32ToHalf(arr))).toEqual(Float32Array.from(arr, (x) => fromHalfBits(toHalfBits(x))));
  });
});

describe('bf16 codec', () => {
  it('keeps the top 16 bits, rounding to nearest even', () => {
    expect(toBf16Bits(1)).toBe(0x3f80);
    expect(toBf16Bits(-2)).toBe(0xc000);
    expect(fromBf16Bits(0x3f80)).toBe(1);
    expect(Number.isNaN(fromBf16Bits(toBf16Bits(NaN)))).toBe(true);
    fc.assert(
      fc.property(fc.float({ noNaN: true, noDefaultInfinity: true, min: Math.fround(-1e30), max: Math.fround(1e30) }), (x) => {
        const back = fromBf16Bits(toBf16Bits(x));
        expect(Math.abs(back - x)).toBeLessThanOrEqual(Math.max(Math.abs(x) * 2 ** -8, 2 ** -133)); // floor: fp32 subnormals
      }),
    );
    const arr = Float32Array.from([0.1, -3.25, 1e-6, 7]);
    expect(bf16ToFloat32(float32ToBf16(arr))).toEqual(Float32Array.from(arr, (x) => fromBf16Bits(toBf16Bits(x))));
  });
});
