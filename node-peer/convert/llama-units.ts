import { layerUnitName, type LlamaArchitecture, type WeightDType } from '../../shared/model/manifest.ts';
import { isQuantDType } from '../../shared/model/quant-blocks.ts';
import { tensorDTypeFor } from '../../shared/model/tensor-dtypes.ts';
import type { TensorData, TensorWrite, UnitContent } from '../model/write-model-package.ts';
import { encodeWeights, rowSlabs, SLAB_FLOATS, writeQuantPadding, writeRows } from './tensor-slabs.ts';

export { encodeWeights } from './tensor-slabs.ts';

/** Where a converter's weights come from: fp32 data for a manifest tensor name, in package layout. */
export interface TensorSource {
  /** Throws a typed error naming the source file when the tensor is missing or mis-shaped. */
  get(name: string, shape: readonly number[]): Promise<Float32Array>;
  /**
   * Rows [start, start + count) of 2-D tensor `name`, fp32. Sources that can seek implement it so
   * a large tensor is read slab by slab; `start` and `count` are multiples of the head size except
   * in a tensor's last slab, so q/k rows can be permuted per slab.
   */
  getRows?(name: string, shape: readonly number[], start: number, count: number): Promise<Float32Array>;
  /**
   * A producer writing `name` at storage dtype `dtype` straight from the source's own encoding
   * (GGUF Q8_0/Q4_0 blocks: no re-quantizing), or undefined to go through fp32.
   */
  direct?(name: string, shape: readonly number[], dtype: WeightDType, slabFloats: number): ((write: TensorWrite) => Promise<void>) | undefined;
}

/** Manifest tensor names and shapes of one unit, in file order (manifest.ts documents them). */
export function unitTensorShapes(arch: LlamaArchitecture, unit: 'embed' | 'head' | number): [string, number[]][] {
  const { hiddenSize: h, intermediateSize: f, vocabSize: v, numHeads, numKvHeads, headDim } = arch;
  if (unit === 'embed') return [['embed.weight', [v, h]]];
  if (unit === 'head')
    return [
      ['final_norm.weight', [h]],
      ['lm_head.weight', [v, h]],
    ];
  const p = `layers.${unit}.`;
  const q = numHeads * headDim;
  const kv = numKvHeads * headDim;
  const bias: [string, number[]][] = arch.attentionBias
    ? [
        [`${p}q.bias`, [q]],
        [`${p}k.bias`, [kv]],
        [`${p}v.bias`, [kv]],
      ]
    : [];
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

/**
 * Yields embed, layer-000 …, head one at a time. Each tensor is a producer run by the writer: a
 * source with getRows is read, encoded and written one row slab at a time, so memory stays at a
 * slab (SLAB_FLOATS) however large the tensor.
 */
export async function* llamaUnits(arch: LlamaArchitecture, source: TensorSource, dtype: WeightDType, slabFloats = SLAB_FLOATS): AsyncGenerator<UnitContent> {
  const order: ('embed' | 'head' | number)[] = ['embed', ...Array.from({ length: arch.numLayers }, (_, i) => i), 'head'];
  for (const unit of order) {
    const tensors: TensorData[] = unitTensorShapes(arch, unit).map(([name, shape]) => {
      const stored = tensorDTypeFor(name, shape, dtype);
      return {
        name,
        dtype: stored,
        shape,
        produce: source.direct?.(name, shape, stored, slabFloats) ?? producer(source, name, shape, stored, arch.headDim, slabFloats),
      };
    });
    yield { name: unit === 'embed' || unit === 'head' ? unit : layerUnitName(unit), tensors };
  }
}

function producer(
  source: TensorSource,
  name: string,
  shape: readonly number[],
  stored: WeightDType,
  headDim: number,
  slabFloats: number,
): (write: TensorWrite) => Promise<void> {
  return async (write) => {
    const getRows = source.getRows?.bind(source);
    if (shape.length !== 2 || getRows === undefined) {
      await write(encodeWeights(await source.get(name, shape), stored, shape), 0);
      return;
    }
    const [rows, cols] = shape as [number, number];
    for (const { start, count } of rowSlabs(rows, cols, headDim, slabFloats)) {
      await writeRows(stored, await getRows(name, shape, start, count), shape, start, count, write);
    }
    if (isQuantDType(stored)) await writeQuantPadding(stored, shape, write);
  };
}
