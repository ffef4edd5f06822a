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
 * Emits the llama building blocks (weights, RMSNorm, embedding, linears, SwiGLU MLP; attention is
 * attention-block.ts) into a GraphBuilder: opset-21 operators, plus ORT's com.microsoft
 * MatMulNBits (q8/q4 linears) and RotaryEmbedding, which onnxruntime-node CPU, onnxruntime-web
 * WASM and WebGPU all have. A split graph computes bit-identically to an unsplit one.
 */
export class LlamaBlocks {
  readonly weights: WeightRef[] = [];
  /** Set once a com.microsoft op is emitted: the model then imports that opset. */
  usesContribOps = false;
  private readonly tensors: ReadonlyMap<string, TensorEntry>;
  private readonly files: ReadonlyMap<string, string>;
  private readonly arch: LlamaArchitecture;
  /** Tensors already in `weights`: a sliced linear reads one tensor several times. */
  private readonly referenced = new Set<string>();

  constructor(
    private readonly g: GraphBuilder,
    manifest: ModelManifest,
    /** MatMulNBits accuracy_level: 4 lets the CPU kernel use int8 dot products (see docs/engines.md). */
    private readonly quantAccuracy = 4,
    /**
     * Largest fp32 matrix (bytes) one MatMulNBits may stand for; larger q8/q4 linears run as several,
     * a slice of output rows each, and are never joined. For a runtime without an n-bit kernel
     * (onnxruntime-web's WASM), which widens the whole matrix on every run: its temporary is then
     * this size, not the matrix's (docs/engines.md). Undefined: no limit.
     */
    private readonly quantChunkBytes?: number,
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
    if (!this.referenced.has(name)) this.weights.push({ tensor: name, unit: t.unit, file, offset: t.offset, bytes: t.bytes });
    this.referenced.add(name);
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
   * `rows`: only output rows [start, end), for one slice of a sliced linear.
   */
  quantized(
    name: string,
    shape: readonly number[],
    rows?: { start: number; end: number },
  ): { dtype: QuantDType; codes: string; scales: string; layout: QuantLayout } {
    const t = this.entry(name, shape);
    if (!isQuantDType(t.dtype)) throw new StageWeightError(name, `stored ${t.dtype}, expected q8 or q4`);
    const whole = quantLayout(t.dtype, shape[0] as number, shape[1] as number);
    const file = this.files.get(t.unit) ?? `${t.unit}.bin`;
    // Rows [start, end) of the codes and of the scales are each one contiguous byte range.
    const { start, end } = rows ?? { start: 0, end: whole.rows };
    const layout = quantLayout(t.dtype, end - start, shape[1] as number);
    const suffix = rows === undefined ? '' : `.rows${start}`;
    const codes = this.g.initializer({
      name: `${name}.codes${suffix}`,
      dataType: OnnxDataType.UINT8,
      dims: [layout.rows, layout.blocksPerRow, layout.blockBytes],
      data: { kind: 'external', location: file, offset: t.offset + start * whole.blocksPerRow * whole.blockBytes, length: layout.dataBytes },
    });
    const halfScales = this.g.initializer({
      name: `${name}.scales${suffix}`,
      dataType: OnnxDataType.FLOAT16,
      dims: [layout.rows * layout.blocksPerRow],
      data: { kind: 'external', location: file, offset: t.offset + whole.scalesOffset + start * whole.blocksPerRow * 2, length: layout.scalesBytes },
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
      this.usesContribOps = true;
      const slices = this.rowSlices(out, inDim);
      const ys = slices.map((rows) => {
        const w = this.quantized(`${name}.weight`, [out, inDim], slices.length === 1 ? undefined : rows);
        return this.g.op(
          'MatMulNBits',
          [x, w.codes, w.scales],
          {
            K: attr.int(inDim),
            N: attr.int(rows.end - rows.start),
            bits: attr.int(quantBits(w.dtype)),
            block_size: attr.int(QUANT_BLOCK),
            accuracy_level: attr.int(this.quantAccuracy),
          },
          { domain: 'com.microsoft' },
        );
      });
      const y = ys.length === 1 ? (ys[0] as string) : this.g.op('Concat', ys, { axis: attr.int(-1) });
      return biasName === undefined ? y : this.g.op('Add', [y, this.weight(biasName, [out])]);
    }
    const w = this.weight(`${name}.weight`, [out, inDim]);
    const inputs = [x, w];
    if (biasName !== undefined) inputs.push(this.weight(biasName, [out]));
    return this.g.op('Gemm', inputs, { transB: attr.int(1) });
  }

  /** Output rows of a quantized [out, inDim] linear, sliced so none widens past quantChunkBytes. */
  private rowSlices(out: number, inDim: number): { start: number; end: number }[] {
    const limit = this.quantChunkBytes ?? Infinity;
    const per = Number.isFinite(limit) ? Math.max(1, Math.floor(limit / (inDim * 4))) : out;
    const slices: { start: number; end: number }[] = [];
    for (let start = 0; start < out; start += per) slices.push({ start, end: Math.min(out, start + per) });
    return slices;
  }

  /**
   * Several linears of the same input as one: their weights joined along the output axis (the
   * Concat of initializers is folded by ORT when the session loads, once) and the result split.
   * A one-row MatMulNBits costs ~30 µs whatever its size (thread wake-up, workspace) beside
   * ~17 µs per million q4 weights (ORT profile, 110m); q/k/v and gate/up each in one call, with
   * RotaryEmbedding, took a 110m decode step from 7.8 to 6.8 ms at q4 and 22.6 to 18.7 ms at
   * fp32 (2 threads). Weights of different dtypes, or biases on only some, stay apart.
   */
  linears(x: string, parts: readonly { name: string; out: number; bias?: string | undefined }[], inDim: number): string[] {
    const g = this.g;
    const dtypes = new Set(parts.map((p) => this.tensors.get(`${p.name}.weight`)?.dtype));
    const biased = parts.filter((p) => p.bias !== undefined).length;
    const sliced = this.quantChunkBytes !== undefined && this.quantDType(`${parts[0]?.name}.weight`) !== null;
    if (parts.length < 2 || dtypes.size !== 1 || (biased !== 0 && biased !== parts.length) || sliced) {
      return parts.map((p) => this.linear(x, p.name, p.out, inDim, p.bias));
    }
    const total = parts.reduce((n, p) => n + p.out, 0);
    let y: string;
    if (this.quantDType(`${parts[0]?.name}.weight`) !== null) {
      const ws = parts.map((p) => this.quantized(`${p.name}.weight`, [p.out, inDim]));
      const w0 = ws[0] as (typeof ws)[number];
      this.usesContribOps = true;
      const axis0 = { axis: attr.int(0) };
      y = g.op(
        'MatMulNBits',
        [
          x,
          g.op(
            'Concat',
            ws.map((w) => w.codes),
            axis0,
          ),
          g.op(
            'Concat',
            ws.map((w) => w.scales),
            axis0,
          ),
        ],
        {
          K: attr.int(inDim),
          N: attr.int(total),
          bits: attr.int(quantBits(w0.dtype)),
          block_size: attr.int(QUANT_BLOCK),
          accuracy_level: attr.int(this.quantAccuracy),
        },
        { domain: 'com.microsoft' },
      );
      if (biased > 0)
        y = g.op('Add', [
          y,
          g.op(
            'Concat',
            parts.map((p) => this.weight(p.bias as string, [p.out])),
            axis0,
          ),
        ]);
    } else {
      const inputs = [
        x,
        g.op(
          'Concat',
          parts.map((p) => this.weight(`${p.name}.weight`, [p.out, inDim])),
          { axis: attr.int(0) },
        ),
      ];
      if (biased > 0)
        inputs.push(
          g.op(
            'Concat',
            parts.map((p) => this.weight(p.bias as string, [p.out])),
            { axis: attr.int(0) },
          ),
        );
      y = g.op('Gemm', inputs, { transB: attr.int(1) });
    }
    return g.opMulti('Split', [y, g.int64(parts.map((p) => p.out))], { axis: attr.int(-1) }, { outputs: parts.length });
  }

  /** SwiGLU: down(silu(gate(x)) * up(x)). */
  mlp(i: number, x: string): string {
    const g = this.g;
    const a = this.arch;
    const [gate, up] = this.linears(
      x,
      [
        { name: `layers.${i}.gate`, out: a.intermediateSize },
        { name: `layers.${i}.up`, out: a.intermediateSize },
      ],
      a.hiddenSize,
    ) as [string, string];
    const silu = g.op('Mul', [gate, g.op('Sigmoid', [gate])]);
    return this.linear(g.op('Mul', [silu, up]), `layers.${i}.down`, a.hiddenSize, a.intermediateSize);
  }
}
