import { GraphBuilder, attr } from '../onnx/graph-builder.ts';
import { OnnxDataType } from '../onnx/onnx-model.ts';
import type { LlamaArchitecture, ModelManifest, TensorEntry } from '../model/manifest.ts';
import { QUANT_BLOCK, isQuantDType, quantBits, quantLayout, type QuantDType, type QuantLayout } from '../model/quant-blocks.ts';
import { StageWeightError } from './errors.ts';

/** A weight the graph reads as external data: a byte range of a unit file, never copied. */
export interface WeightRef {
  readonly tensor: string;
  readonly unit: TensorEntry['unit'];
  readonly file: string;
  readonly offset: number;
  readonly bytes: number;
}

/**
 * Emits the llama building blocks (RMSNorm, linear, attention with KV cache and GQA, SwiGLU MLP)
 * into a GraphBuilder, using standard opset-21 operators only: they run on onnxruntime-node CPU,
 * onnxruntime-web WASM and WebGPU alike, and a split graph computes bit-identically to an unsplit one.
 */
export class LlamaBlocks {
  readonly weights: WeightRef[] = [];
  /** Set once a MatMulNBits is emitted: the model then imports the com.microsoft opset. */
  usesContribOps = false;
  private readonly tensors: ReadonlyMap<string, TensorEntry>;
  private readonly files: ReadonlyMap<string, string>;
  private readonly arch: LlamaArchitecture;

  constructor(
    private readonly g: GraphBuilder,
    manifest: ModelManifest,
    /** MatMulNBits accuracy_level: 4 lets the CPU kernel use int8 dot products (see docs/engines.md). */
    private readonly quantAccuracy = 4,
  ) {
    this.arch = manifest.architecture;
    this.tensors = new Map(manifest.tensors.map((t) => [t.name, t]));
    this.files = new Map(manifest.units.map((u) => [u.name, u.file]));
  }

  /** The manifest entry of a weight the graph reads, checked against the shape it expects. */
  private entry(name: string, shape: readonly number[]): TensorEntry {
    const t = this.tensors.get(name);
    if (t === undefined) throw new StageWeightError(name, 'missing from the manifest');
    if (t.shape.join(',') !== shape.join(',')) {
      throw new StageWeightError(name, `shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
    const file = this.files.get(t.unit) ?? `${t.unit}.bin`;
    this.weights.push({ tensor: name, unit: t.unit, file, offset: t.offset, bytes: t.bytes });
    return t;
  }

  /** Whether a weight is stored block-quantized (and so must go through quantized()). */
  quantDType(name: string): QuantDType | null {
    const dtype = this.tensors.get(name)?.dtype;
    return dtype !== undefined && isQuantDType(dtype) ? dtype : null;
  }

  /**
   * A q8/q4 matrix as its two external initializers: the packed codes as uint8 [rows, blocks,
   * blockBytes] and the scales as float32 [rows·blocks] (stored fp16; the Cast of a constant is
   * folded by ORT when the session loads, so it costs 4 bytes per 32 weights once, not per run).
   */
  quantized(name: string, shape: readonly number[]): { dtype: QuantDType; codes: string; scales: string; layout: QuantLayout } {
    const t = this.entry(name, shape);
    if (!isQuantDType(t.dtype)) throw new StageWeightError(name, `stored ${t.dtype}, expected q8 or q4`);
    const layout = quantLayout(t.dtype, shape[0] as number, shape[1] as number);
    const file = this.files.get(t.unit) ?? `${t.unit}.bin`;
    const codes = this.g.initializer({
      name: `${name}.codes`,
      dataType: OnnxDataType.UINT8,
      dims: [layout.rows, layout.blocksPerRow, layout.blockBytes],
      data: { kind: 'external', location: file, offset: t.offset, length: layout.dataBytes },
    });
    const halfScales = this.g.initializer({
      name: `${name}.scales`,
      dataType: OnnxDataType.FLOAT16,
      dims: [layout.rows * layout.blocksPerRow],
      data: { kind: 'external', location: file, offset: t.offset + layout.scalesOffset, length: layout.scalesBytes },
    });
    const scales = this.g.op('Cast', [halfScales], { to: attr.int(OnnxDataType.FLOAT) });
    return { dtype: t.dtype, codes, scales, layout };
  }

  /** A weight as a float32 value: an external initializer, Cast from fp16 when stored so. */
  weight(name: string, shape: readonly number[]): string {
    const t = this.entry(name, shape);
    if (isQuantDType(t.dtype)) throw new StageWeightError(name, `stored ${t.dtype}: a quantized weight is read by linear() or embedding()`);
    const file = this.files.get(t.unit) ?? `${t.unit}.bin`;
    const value = this.g.initializer({
      name,
      dataType: t.dtype === 'fp16' ? OnnxDataType.FLOAT16 : OnnxDataType.FLOAT,
      dims: t.shape,
      data: { kind: 'external', location: file, offset: t.offset, length: t.bytes },
    });
    // fp16 weights, fp32 math: full-fp16 graphs are neither portable nor split-identical.
    return t.dtype === 'fp16' ? this.g.op('Cast', [value], { to: attr.int(OnnxDataType.FLOAT) }) : value;
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  /** x / sqrt(mean(x²) + eps) * w, written with Pow so ORT fuses it into one kernel. */
  rmsNorm(x: string, weightName: string): string {
    const g = this.g;
    const w = this.weight(weightName, [this.arch.hiddenSize]);
    const sq = g.op('Pow', [x, g.float32([2])]);
    const mean = g.op('ReduceMean', [sq, g.int64([-1])], { keepdims: attr.int(1) });
    const root = g.op('Sqrt', [g.op('Add', [mean, g.float32([this.arch.rmsEps])])]);
    return g.op('Mul', [g.op('Div', [x, root]), w]);
  }

  /**
   * Rows `ids` of the embedding [vocab, hidden] as float32 [S, hidden]. Only the looked-up rows are
   * widened (fp16 Cast, or q8 codes × their block scales), never the whole table.
   */
  embedding(ids: string): string {
    const g = this.g;
    const a = this.arch;
    const name = 'embed.weight';
    const q = this.quantDType(name);
    if (q === null) {
      const rows = g.op('Gather', [this.weight(name, [a.vocabSize, a.hiddenSize]), ids], { axis: attr.int(0) });
      return this.tensors.get(name)?.dtype === 'fp16' ? g.op('Cast', [rows], { to: attr.int(OnnxDataType.FLOAT) }) : rows;
    }
    if (q !== 'q8') throw new StageWeightError(name, `stored ${q}: the embedding is read at q8, fp16 or fp32`);
    const w = this.quantized(name, [a.vocabSize, a.hiddenSize]);
    const { blocksPerRow } = w.layout;
    // Standard ops only, so the lookup runs on every backend: (code − 128) · scale per block.
    const codes = g.op('Reshape', [g.op('Gather', [w.codes, ids], { axis: attr.int(0) }), g.int64([-1, blocksPerRow, QUANT_BLOCK])]);
    const centred = g.op('Sub', [g.op('Cast', [codes], { to: attr.int(OnnxDataType.FLOAT) }), g.float32([128])]);
    const scales = g.op('Reshape', [
      g.op('Gather', [g.op('Reshape', [w.scales, g.int64([a.vocabSize, blocksPerRow])]), ids], { axis: attr.int(0) }),
      g.int64([-1, blocksPerRow, 1]),
    ]);
    const rows = g.op('Reshape', [g.op('Mul', [centred, scales]), g.int64([-1, blocksPerRow * QUANT_BLOCK])]);
    return blocksPerRow * QUANT_BLOCK === a.hiddenSize ? rows : g.op('Slice', [rows, g.int64([0]), g.int64([a.hiddenSize]), g.int64([1])]);
  }

  /**
   * x [S, in] · Wᵀ (+ b): weights stay in their [out, in] layout — Gemm transB for fp32/fp16,
   * MatMulNBits (com.microsoft) for q8/q4, which reads the codes where they lie: engine memory is
   * the quantized bytes, not a widened copy.
   */
  linear(x: string, name: string, out: number, inDim: number, biasName?: string): string {
    if (this.quantDType(`${name}.weight`) !== null) {
      const w = this.quantized(`${name}.weight`, [out, inDim]);
      this.usesContribOps = true;
      const y = this.g.op(
        'MatMulNBits',
        [x, w.codes, w.scales],
        {
          K: attr.int(inDim),
          N: attr.int(out),
          bits: attr.int(quantBits(w.dtype)),
          block_size: attr.int(QUANT_BLOCK),
          accuracy_level: attr.int(this.quantAccuracy),
        },
        { domain: 'com.microsoft' },
      );
      return biasName === undefined ? y : this.g.op('Add', [y, this.weight(biasName, [out])]);
    }
    const w = this.weight(`${name}.weight`, [out, inDim]);
    const inputs = [x, w];
    if (biasName !== undefined) inputs.push(this.weight(biasName, [out]));
    return this.g.op('Gemm', inputs, { transB: attr.int(1) });
  }

  /** Rotate-half RoPE on [heads, S, headDim] with cos/sin [S, headDim]. */
  private rope(x: string, cos: string, sin: string): string {
    const g = this.g;
    const half = this.arch.headDim / 2;
    const [x1, x2] = g.opMulti('Split', [x, g.int64([half, half])], { axis: attr.int(-1) }, { outputs: 2 }) as [string, string];
    const rotated = g.op('Concat', [g.op('Neg', [x2]), x1], { axis: attr.int(-1) });
    return g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotated, sin])]);
  }

  /** [S, heads*headDim] → [heads, S, headDim]. */
  private splitHeads(x: string, heads: number): string {
    const g = this.g;
    const r = g.op('Reshape', [x, g.int64([-1, heads, this.arch.headDim])]);
    return g.op('Transpose', [r], { perm: attr.ints([1, 0, 2]) });
  }

  /**
   * Self-attention of layer `i` on normalised x [S, hidden]. Appends the new keys/values to the
   * past cache (present = concat(past, new)). Grouped-query attention without copying KV heads:
   * the `rep` query heads sharing one KV head are stacked along the row axis, so one batched
   * MatMul per KV head serves them all; `mask` must already be tiled to [rep*S, T].
   * With `kvCache: 'append'` the past comes in position-major [P, kvHeads, headDim] and the
   * returned presentKey/presentValue are only the S new rows, position-major too (StageIo); the
   * attention itself sees the same [kvHeads, T, headDim] values either way.
   */
  attention(
    i: number,
    x: string,
    io: { cos: string; sin: string; mask: string; pastKey: string; pastValue: string; kvCache?: 'present' | 'append' },
  ): {
    out: string;
    presentKey: string;
    presentValue: string;
  } {
    const g = this.g;
    const a = this.arch;
    const qDim = a.numHeads * a.headDim;
    const kvDim = a.numKvHeads * a.headDim;
    const p = `layers.${i}`;
    const bias = (n: string): string | undefined => (a.attentionBias && this.has(`${p}.${n}.bias`) ? `${p}.${n}.bias` : undefined);
    const q = this.splitHeads(this.linear(x, `${p}.q`, qDim, a.hiddenSize, bias('q')), a.numHeads);
    const k = this.splitHeads(this.linear(x, `${p}.k`, kvDim, a.hiddenSize, bias('k')), a.numKvHeads);
    const v = this.splitHeads(this.linear(x, `${p}.v`, kvDim, a.hiddenSize, bias('v')), a.numKvHeads);
    const qRot = g.op('Mul', [this.rope(q, io.cos, io.sin), g.float32([1 / Math.sqrt(a.headDim)])]);
    const kRot = this.rope(k, io.cos, io.sin);
    let keys: string;
    let values: string;
    let presentKey: string;
    let presentValue: string;
    if (io.kvCache === 'append') {
      // [kvHeads, S, headDim] ⇄ [S, kvHeads, headDim]: the caller's cache grows by whole rows.
      const headsFirst = attr.ints([1, 0, 2]);
      presentKey = g.op('Transpose', [kRot], { perm: headsFirst });
      presentValue = g.op('Transpose', [v], { perm: headsFirst });
      keys = g.op('Transpose', [g.op('Concat', [io.pastKey, presentKey], { axis: attr.int(0) })], { perm: headsFirst });
      values = g.op('Transpose', [g.op('Concat', [io.pastValue, presentValue], { axis: attr.int(0) })], { perm: headsFirst });
    } else {
      presentKey = g.op('Concat', [io.pastKey, kRot], { axis: attr.int(1) });
      presentValue = g.op('Concat', [io.pastValue, v], { axis: attr.int(1) });
      keys = presentKey;
      values = presentValue;
    }
    const qGrouped = g.op('Reshape', [qRot, g.int64([a.numKvHeads, -1, a.headDim])]);
    const keysT = g.op('Transpose', [keys], { perm: attr.ints([0, 2, 1]) });
    const scores = g.op('Add', [g.op('MatMul', [qGrouped, keysT]), io.mask]);
    const probs = g.op('Softmax', [scores], { axis: attr.int(-1) });
    const context = g.op('MatMul', [probs, values]); // [kvHeads, rep*S, headDim]
    const heads = g.op('Reshape', [context, g.int64([a.numHeads, -1, a.headDim])]);
    const merged = g.op('Reshape', [g.op('Transpose', [heads], { perm: attr.ints([1, 0, 2]) }), g.int64([-1, qDim])]);
    return { out: this.linear(merged, `${p}.o`, a.hiddenSize, qDim), presentKey, presentValue };
  }

  /** SwiGLU: down(silu(gate(x)) * up(x)). */
  mlp(i: number, x: string): string {
    const g = this.g;
    const a = this.arch;
    const gate = this.linear(x, `layers.${i}.gate`, a.intermediateSize, a.hiddenSize);
    const up = this.linear(x, `layers.${i}.up`, a.intermediateSize, a.hiddenSize);
    const silu = g.op('Mul', [gate, g.op('Sigmoid', [gate])]);
    return this.linear(g.op('Mul', [silu, up]), `layers.${i}.down`, a.hiddenSize, a.intermediateSize);
  }
}
