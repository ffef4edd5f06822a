import type { WeightDType } from './manifest.ts';
import { isQuantDType, quantTensorBytes } from './quant-blocks.ts';

const ELEMENT_BYTES = { fp32: 4, fp16: 2 } as const;

/** Bytes a tensor of `dtype` and `shape` takes in its unit file; null when they do not go together. */
export function tensorStorageBytes(dtype: WeightDType, shape: readonly number[]): number | null {
  if (isQuantDType(dtype)) return quantTensorBytes(dtype, shape);
  return shape.reduce((p, d) => p * d, 1) * ELEMENT_BYTES[dtype];
}

/**
 * The dtype a converter stores tensor `name` at in a package of precision `pkg`:
 * - fp32 and fp16 packages store every tensor at their dtype (as format 1 did);
 * - in q8/q4 packages norms and biases stay fp32 (a few KB; they scale every activation);
 * - the linear weights of the layers take the package's dtype;
 * - in a q4 package the embedding and the classifier are q8: the classifier decides every token
 *   (4-bit there costs top-1 agreement for a saving of under 1/16 of a 1B model's bytes per stage
 *   holding it), and the embedding shares its shape and, when tied, its values.
 */
export function tensorDTypeFor(name: string, shape: readonly number[], pkg: WeightDType): WeightDType {
  if (!isQuantDType(pkg)) return pkg;
  if (shape.length !== 2 || !name.endsWith('.weight')) return 'fp32';
  if (pkg === 'q4' && (name === 'embed.weight' || name === 'lm_head.weight')) return 'q8';
  return pkg;
}
