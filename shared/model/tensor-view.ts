import { TensorNotFoundError } from './errors.ts';
import type { ModelManifest, TensorEntry } from './manifest.ts';
import { dequantize, isQuantDType } from './quant-blocks.ts';

export function findTensor(manifest: ModelManifest, name: string): TensorEntry {
  const entry = manifest.tensors.find((t) => t.name === name);
  if (entry === undefined) throw new TensorNotFoundError(name);
  return entry;
}

/** The raw bytes of tensor `name` inside its unit file's bytes (a view, no copy). */
function tensorBytes(manifest: ModelManifest, name: string, unitBytes: Uint8Array): Uint8Array {
  const t = findTensor(manifest, name);
  if (t.offset + t.bytes > unitBytes.length) {
    throw new TensorNotFoundError(name, `unit ${t.unit} holds ${unitBytes.length} bytes, tensor ends at ${t.offset + t.bytes}`);
  }
  return unitBytes.subarray(t.offset, t.offset + t.bytes);
}

/**
 * Tensor `name` as Float32Array (fp32; q8/q4 dequantized, a copy) or Uint16Array (fp16 bit
 * patterns). A view when the bytes are suitably aligned in memory, else a copy.
 */
export function tensorArray(manifest: ModelManifest, name: string, unitBytes: Uint8Array): Float32Array | Uint16Array {
  const t = findTensor(manifest, name);
  const raw = tensorBytes(manifest, name, unitBytes);
  if (isQuantDType(t.dtype)) return dequantize(t.dtype, raw, t.shape[0] as number, t.shape[1] as number);
  const width = t.dtype === 'fp32' ? 4 : 2;
  const bytes = raw.byteOffset % width === 0 ? raw : raw.slice();
  return t.dtype === 'fp32'
    ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)
    : new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
}
