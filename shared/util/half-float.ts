/**
 * IEEE 754 binary16 (fp16) and bfloat16 ↔ float32. Encoding rounds to nearest, ties to even;
 * NaN stays NaN, overflow becomes ±Infinity, tiny values become fp16 subnormals or ±0.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** fp32 value → fp16 bit pattern. */
export function toHalfBits(value: number): number {
  f32[0] = value;
  return halfFromF32Bits(u32[0] as number);
}

/** fp32 bit pattern → fp16 bit pattern (the bulk path reads bits straight from a Uint32Array view). */
function halfFromF32Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    // Subnormal: shift the full mantissa (with its implicit 1) into 10 bits, rounding to even.
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let r = m >>> shift;
    if (rest > half || (rest === half && (r & 1) === 1)) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (r & 1) === 1)) r++; // may carry into the exponent: correct
  return sign | r;
}

/** fp16 bit pattern → number. */
export function fromHalfBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** fp32 value → bf16 bit pattern (the top 16 bits, rounded to nearest even). */
export function toBf16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0] as number;
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

export function fromBf16Bits(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0] as number;
}

export function float32ToHalf(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  const bits = src.byteOffset % 4 === 0 ? new Uint32Array(src.buffer, src.byteOffset, src.length) : new Uint32Array(src.slice().buffer);
  for (let i = 0; i < bits.length; i++) out[i] = halfFromF32Bits(bits[i] as number);
  return out;
}

export function halfToFloat32(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = fromHalfBits(src[i] as number);
  return out;
}

export function float32ToBf16(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = toBf16Bits(src[i] as number);
  return out;
}

export function bf16ToFloat32(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < src.length; i++) bits[i] = (src[i] as number) << 16;
  return out;
}
