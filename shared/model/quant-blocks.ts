/**
 * Block-wise weight quantization (docs/model-package.md, "Quantized tensors").
 *
 * A quantized tensor is a matrix [rows, cols] split along cols into blocks of 32. Each block has
 * one fp16 scale `d`; values are symmetric, without zero points:
 *   q8: byte b = q + 128, q ∈ [-127, 127], value = (b - 128)·d   (GGUF Q8_0: d = max|x| / 127)
 *   q4: nibble n ∈ [0, 15],               value = (n - 8)·d     (GGUF Q4_0: d = signed max / -8)
 * Symmetric because GGUF's Q8_0/Q4_0 blocks then map onto ours without re-quantizing, and
 * because ORT's MatMulNBits takes the missing zero point as exactly that midpoint (128, 8).
 *
 * Bytes of one tensor: the packed values, rows × ceil(cols/32) blocks in MatMulNBits' layout (q4:
 * byte i of a block holds element 2i in its low nibble and 2i+1 in its high nibble), zero padding to
 * QUANT_SCALE_ALIGNMENT, then the scales as fp16 [rows, ceil(cols/32)]. A last partial block is
 * padded with zeros (the midpoint code), so padded columns add nothing to a dot product.
 */
import { fromHalfBits, toHalfBits } from '../util/half-float.ts';

export const QUANT_BLOCK = 32;
/** Where the scales start inside a quantized tensor's bytes: aligned like tensors in a unit. */
const QUANT_SCALE_ALIGNMENT = 64;

export type QuantDType = 'q4' | 'q8';

export function isQuantDType(dtype: string): dtype is QuantDType {
  return dtype === 'q4' || dtype === 'q8';
}

export function quantBits(dtype: QuantDType): 4 | 8 {
  return dtype === 'q4' ? 4 : 8;
}

/** Where the parts of a quantized [rows, cols] tensor lie inside its bytes. */
export interface QuantLayout {
  readonly rows: number;
  readonly cols: number;
  readonly blocksPerRow: number;
  /** Packed bytes of one block: 16 (q4) or 32 (q8). */
  readonly blockBytes: number;
  readonly dataBytes: number;
  readonly scalesOffset: number;
  readonly scalesBytes: number;
  readonly bytes: number;
}

export function quantLayout(dtype: QuantDType, rows: number, cols: number): QuantLayout {
  const blocksPerRow = Math.ceil(cols / QUANT_BLOCK);
  const blockBytes = (QUANT_BLOCK * quantBits(dtype)) / 8;
  const dataBytes = rows * blocksPerRow * blockBytes;
  const scalesOffset = Math.ceil(dataBytes / QUANT_SCALE_ALIGNMENT) * QUANT_SCALE_ALIGNMENT;
  const scalesBytes = rows * blocksPerRow * 2;
  return { rows, cols, blocksPerRow, blockBytes, dataBytes, scalesOffset, scalesBytes, bytes: scalesOffset + scalesBytes };
}

/** Storage bytes of a quantized tensor of `shape` (2-D only: the quantized weights are matrices). */
export function quantTensorBytes(dtype: QuantDType, shape: readonly number[]): number | null {
  if (shape.length !== 2) return null;
  return quantLayout(dtype, shape[0] as number, shape[1] as number).bytes;
}

/**
 * Quantizes rows × cols fp32 values (row-major) into a tensor's bytes. `rowOffset`/`into` let a
 * caller quantize a large matrix a slab of rows at a time into one preallocated buffer.
 */
export function quantize(dtype: QuantDType, src: Float32Array, rows: number, cols: number): Uint8Array {
  const layout = quantLayout(dtype, rows, cols);
  const out = new Uint8Array(layout.bytes);
  quantizeRowsInto(dtype, src, layout, 0, rows, out);
  return out;
}

/** Quantizes `count` rows from `src` (count × cols values) into rows start… of a tensor's bytes. */
function quantizeRowsInto(dtype: QuantDType, src: Float32Array, layout: QuantLayout, start: number, count: number, out: Uint8Array): void {
  const { cols, blocksPerRow, blockBytes, scalesOffset } = layout;
  const scales = new DataView(out.buffer, out.byteOffset + scalesOffset, layout.scalesBytes);
  const block = new Float32Array(QUANT_BLOCK);
  for (let r = 0; r < count; r++) {
    for (let b = 0; b < blocksPerRow; b++) {
      block.fill(0);
      const from = r * cols + b * QUANT_BLOCK;
      const n = Math.min(QUANT_BLOCK, cols - b * QUANT_BLOCK);
      block.set(src.subarray(from, from + n));
      const at = ((start + r) * blocksPerRow + b) * blockBytes;
      const d = dtype === 'q8' ? packQ8(block, out, at) : packQ4(block, out, at);
      scales.setUint16(((start + r) * blocksPerRow + b) * 2, toHalfBits(d), true);
    }
  }
}

// Both packers compute in float32 and round halves away from zero, as ggml's reference C does, so a
// tensor quantized here has the bytes llama.cpp would give it.
const f32 = Math.fround;
const roundf = (v: number): number => Math.sign(v) * Math.floor(Math.abs(v) + 0.5);

/** GGUF quantize_row_q8_0: d = amax/127, q = roundf(x/d). Returns d. */
function packQ8(x: Float32Array, out: Uint8Array, at: number): number {
  let amax = 0;
  for (let i = 0; i < QUANT_BLOCK; i++) amax = Math.max(amax, Math.abs(x[i] as number));
  const d = f32(amax / 127);
  const id = d === 0 ? 0 : f32(1 / d);
  for (let i = 0; i < QUANT_BLOCK; i++) out[at + i] = roundf(f32((x[i] as number) * id)) + 128;
  return d;
}

/** GGUF quantize_row_q4_0: d = (value of largest magnitude) / -8, n = min(15, trunc(x/d + 8.5)). */
function packQ4(x: Float32Array, out: Uint8Array, at: number): number {
  let amax = 0;
  let max = 0;
  for (let i = 0; i < QUANT_BLOCK; i++) {
    const v = x[i] as number;
    if (Math.abs(v) > amax) {
      amax = Math.abs(v);
      max = v;
    }
  }
  const d = f32(max / -8);
  const id = d === 0 ? 0 : f32(1 / d);
  const code = (v: number): number => Math.min(15, Math.trunc(f32(f32(v * id) + 8.5)));
  for (let i = 0; i < QUANT_BLOCK / 2; i++) out[at + i] = code(x[2 * i] as number) | (code(x[2 * i + 1] as number) << 4);
  return d;
}

/** The fp32 values a quantized tensor stands for (rows × cols, padding dropped). */
export function dequantize(dtype: QuantDType, bytes: Uint8Array, rows: number, cols: number): Float32Array {
  const { blocksPerRow, blockBytes, scalesOffset } = quantLayout(dtype, rows, cols);
  const scales = new DataView(bytes.buffer, bytes.byteOffset + scalesOffset, rows * blocksPerRow * 2);
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const b = Math.floor(c / QUANT_BLOCK);
      const i = c % QUANT_BLOCK;
      const d = fromHalfBits(scales.getUint16((r * blocksPerRow + b) * 2, true));
      const at = (r * blocksPerRow + b) * blockBytes;
      const q = dtype === 'q8' ? (bytes[at + i] as number) - 128 : (((bytes[at + (i >> 1)] as number) >> ((i & 1) * 4)) & 15) - 8;
      out[r * cols + c] = q * d;
    }
  }
  return out;
}

/** GGUF block sizes in bytes: fp16 d, then 32 int8 (Q8_0) or 16 bytes of nibbles (Q4_0). */
const GGUF_Q8_0_BLOCK_BYTES = 34;
const GGUF_Q4_0_BLOCK_BYTES = 18;

/**
 * GGUF Q8_0 / Q4_0 blocks of a [rows, cols] tensor (cols a multiple of 32, ggml's own rule) →
 * our bytes, without re-quantizing: the same d, the same codes, only the packing differs (Q4_0
 * keeps element j in the low nibble of byte j and j+16 in its high nibble).
 */
export function fromGgufBlocks(dtype: QuantDType, src: Uint8Array, rows: number, cols: number): Uint8Array {
  const layout = quantLayout(dtype, rows, cols);
  const out = new Uint8Array(layout.bytes);
  fromGgufBlocksInto(dtype, src, layout, 0, rows, out);
  return out;
}

export function fromGgufBlocksInto(dtype: QuantDType, src: Uint8Array, layout: QuantLayout, start: number, count: number, out: Uint8Array): void {
  const { blocksPerRow, blockBytes, scalesOffset } = layout;
  const ggufBytes = dtype === 'q8' ? GGUF_Q8_0_BLOCK_BYTES : GGUF_Q4_0_BLOCK_BYTES;
  const n = count * blocksPerRow;
  if (src.length < n * ggufBytes) throw new RangeError(`GGUF ${dtype === 'q8' ? 'Q8_0' : 'Q4_0'} data: ${src.length} bytes for ${n} blocks`);
  const first = start * blocksPerRow;
  for (let k = 0; k < n; k++) {
    const g = k * ggufBytes;
    const at = (first + k) * blockBytes;
    out[scalesOffset + (first + k) * 2] = src[g] as number;
    out[scalesOffset + (first + k) * 2 + 1] = src[g + 1] as number;
    if (dtype === 'q8') {
      for (let i = 0; i < QUANT_BLOCK; i++) out[at + i] = (((src[g + 2 + i] as number) << 24) >> 24) + 128;
    } else {
      const code = (j: number): number => (j < 16 ? (src[g + 2 + j] as number) & 15 : (src[g + 2 + j - 16] as number) >> 4);
      for (let i = 0; i < QUANT_BLOCK / 2; i++) out[at + i] = code(2 * i) | (code(2 * i + 1) << 4);
    }
  }
}
