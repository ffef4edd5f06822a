import { float32ToHalf } from '../../shared/codec/half-float.ts';
import { layerUnitName, type LlamaArchitecture, type WeightDType } from '../../shared/model/manifest.ts';
import { isQuantDType, quantize } from '../../shared/model/quant-blocks.ts';
import { tensorDTypeFor } from '../../shared/model/tensor-dtypes.ts';
import type { TensorData, UnitContent } from '../model/write-model-package.ts';

/** Where a converter's weights come from: fp32 data for a manifest tensor name, in package layout. */
export interface TensorSource {
  /** Throws a typed error naming the source file when the tensor is missing or mis-shaped. */
  get(name: string, shape: readonly number[]): Promise<Float32Array>;
}

/** Manifest tensor names and shapes of one unit, in file order (manifest.ts documents them). */
export function unitTensorShapes(arch: LlamaArchitecture, unit: 'embed' | 'head' | number): [string, number[]][] {
  const { hiddenSize: h, intermediateSize: f, vocabSize: v, numHeads, numKvHeads, headDim } = arch;
  if (unit === 'embed') return [['embed.weight', [v, h]]];
  if (unit === 'head') return [['final_norm.weight', [h]], ['lm_head.weight', [v, h]]];
  const p = `layers.${unit}.`;
  const q = numHeads * headDim;
  const kv = numKvHeads * headDim;
  const bias: [string, number[]][] = arch.attentionBias ? [[`${p}q.bias`, [q]], [`${p}k.bias`, [kv]], [`${p}v.bias`, [kv]]] : [];
  return [
    [`${p}attn_norm.weight`, [h]],
    [`${p}q.weight`, [q, h]],
    [`${p}k.weight`, [kv, h]],
    [`${p}v.weight`, [kv, h]],
    ...bias,
    [`${p}o.weight`, [h, q]],
    [`${p}ffn_norm.weight`, [h]],
    [`${p}gate.weight`, [f, h]],
    [`${p}up.weight`, [f, h]],
    [`${p}down.weight`, [h, f]],
  ];
}

/** fp32 values of a tensor of `shape` → its storage bytes at `dtype` (see tensorDTypeFor). */
export function encodeWeights(data: Float32Array, dtype: WeightDType, shape: readonly number[] = [data.length]): Uint8Array {
  if (isQuantDType(dtype)) return quantize(dtype, data, shape[0] as number, shape[1] as number);
  const typed = dtype === 'fp32' ? data : float32ToHalf(data);
  return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
}

/** Yields embed, layer-000 …, head one at a time, so only one unit's weights are in memory. */
export async function* llamaUnits(arch: LlamaArchitecture, source: TensorSource, dtype: WeightDType): AsyncGenerator<UnitContent> {
  const order: ('embed' | 'head' | number)[] = ['embed', ...Array.from({ length: arch.numLayers }, (_, i) => i), 'head'];
  for (const unit of order) {
    const tensors: TensorData[] = [];
    for (const [name, shape] of unitTensorShapes(arch, unit)) {
      const stored = tensorDTypeFor(name, shape, dtype);
      tensors.push({ name, dtype: stored, shape, data: encodeWeights(await source.get(name, shape), stored, shape) });
    }
    yield { name: unit === 'embed' || unit === 'head' ? unit : layerUnitName(unit), tensors };
  }
}
