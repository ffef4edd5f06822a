import { float32ToHalf } from '../../shared/util/half-float.ts';
import type { WeightDType } from '../../shared/model/manifest.ts';
import { isQuantDType, quantize, quantLayout, type QuantDType, type QuantLayout } from '../../shared/model/quant-blocks.ts';
import type { TensorWrite } from '../model/unit-file-writer.ts';

/** fp32 values per slab a converter holds at once (16 MiB): bounds memory whatever the tensor size. */
export const SLAB_FLOATS = 1 << 22;

/**
 * Row ranges covering a [rows, cols] matrix, each about SLAB_FLOATS values and a multiple of
 * `align` rows (whole attention heads, so sources can permute q/k rows slab by slab).
 */
export function* rowSlabs(rows: number, cols: number, align: number, slabFloats = SLAB_FLOATS): Generator<{ start: number; count: number }> {
  const per = Math.max(align, Math.floor(slabFloats / Math.max(1, cols) / align) * align);
  for (let start = 0; start < rows; start += per) yield { start, count: Math.min(per, rows - start) };
}

/** fp32 values of a tensor of `shape` → its storage bytes at `dtype` (see tensorDTypeFor). */
export function encodeWeights(data: Float32Array, dtype: WeightDType, shape: readonly number[] = [data.length]): Uint8Array {
  if (isQuantDType(dtype)) return quantize(dtype, data, shape[0] as number, shape[1] as number);
  const typed = dtype === 'fp32' ? data : float32ToHalf(data);
  return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
}

/** Encodes rows [start, start + count) of a [rows, cols] tensor stored at `dtype` and writes them in place. */
export async function writeRows(
  dtype: WeightDType,
  values: Float32Array,
  shape: readonly number[],
  start: number,
  count: number,
  write: TensorWrite,
): Promise<void> {
  const [rows, cols] = shape as [number, number];
  if (!isQuantDType(dtype)) {
    await write(encodeWeights(values, dtype), start * cols * (dtype === 'fp32' ? 4 : 2));
    return;
  }
  const slab = quantLayout(dtype, count, cols);
  await writeQuantSlab(quantLayout(dtype, rows, cols), slab, quantize(dtype, values, count, cols), start, write);
}

/**
 * Writes one slab of a quantized tensor (bytes in the slab's own layout: codes, padding, scales)
 * into the whole tensor: its codes and its scales are each contiguous there too.
 */
export async function writeQuantSlab(full: QuantLayout, slab: QuantLayout, bytes: Uint8Array, start: number, write: TensorWrite): Promise<void> {
  await write(bytes.subarray(0, slab.dataBytes), start * full.blocksPerRow * full.blockBytes);
  await write(bytes.subarray(slab.scalesOffset, slab.scalesOffset + slab.scalesBytes), full.scalesOffset + start * full.blocksPerRow * 2);
}

/** The zero bytes between a quantized tensor's codes and its scales (written once, after the slabs). */
export async function writeQuantPadding(dtype: QuantDType, shape: readonly number[], write: TensorWrite): Promise<void> {
  const full = quantLayout(dtype, shape[0] as number, shape[1] as number);
  if (full.scalesOffset > full.dataBytes) await write(new Uint8Array(full.scalesOffset - full.dataBytes), full.dataBytes);
}
