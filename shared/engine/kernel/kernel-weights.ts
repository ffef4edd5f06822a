import type { LayerRange } from '../../model/layer-range.ts';
import type { ModelManifest, TensorEntry, UnitName } from '../../model/manifest.ts';
import { isQuantDType, QUANT_BLOCK, quantLayout } from '../../model/quant-blocks.ts';
import { fromHalfBits, halfToFloat32 } from '../../util/half-float.ts';
import { StageInputError } from '../errors.ts';
import { UnsupportedKernelWeightsError } from './errors.ts';
import type { HeapMatrix, KernelHeap } from './kernel-heap.ts';

export interface KernelLayer {
  readonly attnNorm: Float32Array;
  readonly q: HeapMatrix;
  readonly k: HeapMatrix;
  readonly v: HeapMatrix;
  readonly qBias?: Float32Array;
  readonly kBias?: Float32Array;
  readonly vBias?: Float32Array;
  readonly o: HeapMatrix;
  readonly ffnNorm: Float32Array;
  readonly gate: HeapMatrix;
  readonly up: HeapMatrix;
  readonly down: HeapMatrix;
}

/** Rows of the embedding as float32: q8 codes × scales, fp16 or fp32, one row at a time. */
export type EmbeddingRow = (id: number, into: Float32Array) => void;

export interface KernelWeights {
  readonly layers: readonly KernelLayer[];
  readonly embedding?: EmbeddingRow;
  readonly head?: { readonly norm: Float32Array; readonly matrix: HeapMatrix };
}

/**
 * Copies the weights of layers [start, end) (and the embedding / final norm + classifier at the
 * ends) out of the verified unit bytes: linear weights into the kernel heap, the rest into small
 * JS arrays. Nothing keeps a reference to the unit bytes afterwards.
 */
export function loadKernelWeights(manifest: ModelManifest, range: LayerRange, units: ReadonlyMap<UnitName, Uint8Array>, heap: KernelHeap): KernelWeights {
  const a = manifest.architecture;
  const label = `[${range.start}, ${range.end})`;
  const byName = new Map(manifest.tensors.map((t) => [t.name, t]));
  const entry = (name: string, shape: readonly number[]): TensorEntry => {
    const t = byName.get(name);
    if (t === undefined) throw new StageInputError(label, `${name} is missing from the manifest`);
    if (t.shape.join(',') !== shape.join(',')) throw new StageInputError(label, `${name} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
    return t;
  };
  const bytesOf = (t: TensorEntry): Uint8Array => {
    const unit = units.get(t.unit);
    if (unit === undefined) throw new StageInputError(label, `unit ${t.unit} was not provided`);
    if (t.offset + t.bytes > unit.length)
      throw new StageInputError(label, `${t.name} ends at byte ${t.offset + t.bytes} of unit ${t.unit}, which holds ${unit.length}`);
    return unit.subarray(t.offset, t.offset + t.bytes);
  };
  /** A vector (norm, bias) as a float32 copy. */
  const vector = (name: string, length: number): Float32Array => {
    const t = entry(name, [length]);
    const raw = bytesOf(t);
    if (t.dtype === 'fp32') return new Float32Array(raw.slice().buffer);
    if (t.dtype === 'fp16') return halfToFloat32(new Uint16Array(raw.slice().buffer));
    throw new UnsupportedKernelWeightsError(name, t.dtype);
  };
  const matrix = (name: string, rows: number, cols: number): HeapMatrix => {
    const t = entry(name, [rows, cols]);
    if (!isQuantDType(t.dtype)) throw new UnsupportedKernelWeightsError(name, t.dtype);
    return heap.addMatrix(t.dtype, bytesOf(t), rows, cols);
  };
  const qDim = a.numHeads * a.headDim;
  const kvDim = a.numKvHeads * a.headDim;
  const bias = (name: string, length: number): Float32Array | undefined => (a.attentionBias && byName.has(name) ? vector(name, length) : undefined);

  const layers: KernelLayer[] = [];
  for (let i = range.start; i < range.end; i++) {
    const p = `layers.${i}.`;
    const qBias = bias(`${p}q.bias`, qDim);
    const kBias = bias(`${p}k.bias`, kvDim);
    const vBias = bias(`${p}v.bias`, kvDim);
    layers.push({
      attnNorm: vector(`${p}attn_norm.weight`, a.hiddenSize),
      q: matrix(`${p}q.weight`, qDim, a.hiddenSize),
      k: matrix(`${p}k.weight`, kvDim, a.hiddenSize),
      v: matrix(`${p}v.weight`, kvDim, a.hiddenSize),
      ...(qBias === undefined ? {} : { qBias }),
      ...(kBias === undefined ? {} : { kBias }),
      ...(vBias === undefined ? {} : { vBias }),
      o: matrix(`${p}o.weight`, a.hiddenSize, qDim),
      ffnNorm: vector(`${p}ffn_norm.weight`, a.hiddenSize),
      gate: matrix(`${p}gate.weight`, a.intermediateSize, a.hiddenSize),
      up: matrix(`${p}up.weight`, a.intermediateSize, a.hiddenSize),
      down: matrix(`${p}down.weight`, a.hiddenSize, a.intermediateSize),
    });
  }
  return {
    layers,
    ...(range.start === 0 ? { embedding: embeddingRows(entry('embed.weight', [a.vocabSize, a.hiddenSize]), bytesOf) } : {}),
    ...(range.end === a.numLayers
      ? { head: { norm: vector('final_norm.weight', a.hiddenSize), matrix: matrix('lm_head.weight', a.vocabSize, a.hiddenSize) } }
      : {}),
  };
}

/** The embedding kept as stored (a copy; q8: 1 byte per weight), widened a row per lookup. */
function embeddingRows(t: TensorEntry, bytesOf: (t: TensorEntry) => Uint8Array): EmbeddingRow {
  const raw = bytesOf(t).slice();
  const [vocab, hidden] = t.shape as [number, number];
  if (t.dtype === 'fp32') {
    const f = new Float32Array(raw.buffer);
    return (id, into) => into.set(f.subarray(id * hidden, (id + 1) * hidden));
  }
  if (t.dtype === 'fp16') {
    const h = new Uint16Array(raw.buffer);
    return (id, into) => {
      for (let i = 0; i < hidden; i++) into[i] = fromHalfBits(h[id * hidden + i] as number);
    };
  }
  if (t.dtype !== 'q8') throw new UnsupportedKernelWeightsError(t.name, `${t.dtype} (the embedding is read at q8, fp16 or fp32)`);
  const layout = quantLayout('q8', vocab, hidden);
  const scales = new DataView(raw.buffer, layout.scalesOffset, layout.scalesBytes);
  return (id, into) => {
    const row = id * layout.blocksPerRow;
    for (let b = 0; b < layout.blocksPerRow; b++) {
      const d = fromHalfBits(scales.getUint16((row + b) * 2, true));
      const base = (row + b) * QUANT_BLOCK;
      for (let j = 0; j < QUANT_BLOCK && b * QUANT_BLOCK + j < hidden; j++) into[b * QUANT_BLOCK + j] = ((raw[base + j] as number) - 128) * d;
    }
  };
}
