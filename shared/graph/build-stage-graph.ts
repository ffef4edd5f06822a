import type { LayerRange } from '../model/layer-range.ts';
import type { ModelManifest } from '../model/manifest.ts';
import { GraphBuilder, attr } from '../onnx/graph-builder.ts';
import { OnnxDataType, encodeOnnxModel } from '../onnx/onnx-model.ts';
import { attention, rotaryTables } from './attention-block.ts';
import { InvalidLayerRangeError } from './errors.ts';
import { LlamaBlocks, type WeightRef } from './llama-blocks.ts';
import { ropeInverseFrequencies } from './rope.ts';
import { StageIo } from './stage-io.ts';

const STAGE_OPSET = 21;

export interface StageGraph {
  /** ONNX model bytes; weights are external data named by unit file (`layer-003.bin` …). */
  readonly model: Uint8Array;
  /** Every weight the model reads, with its byte range in its unit file. */
  readonly weights: readonly WeightRef[];
  /** Unit files the external data refers to, in order. */
  readonly files: readonly string[];
  /** The graph's first input: token ids (start = 0) or hidden states. */
  readonly input: typeof StageIo.inputIds | typeof StageIo.hiddenIn;
  /** The graph's main output: logits (end = numLayers) or hidden states. */
  readonly output: typeof StageIo.logits | typeof StageIo.hiddenOut;
  /** Global indices of the layers inside, in order. */
  readonly layers: readonly number[];
  /** RoPE inverse frequencies to build the rope_cos/rope_sin feeds from (see ropeTables). */
  readonly invFreq: Float32Array;
  /** How the KV cache crosses the graph boundary (see StageIo). */
  readonly kvCache: KvCacheMode;
  /** Element type of the past_* inputs and the present_* / new_* outputs. */
  readonly kvDtype: KvDtype;
}

/**
 * 'present' (default): the whole cache goes out and back in each run — right when the outputs
 * stay on the GPU. 'append': only the new rows come out and the caller keeps the cache — on CPU
 * and WASM this saves copying (and allocating) every layer's whole cache out of ORT on every token.
 */
export type KvCacheMode = 'present' | 'append';

/**
 * 'fp32' (default) or 'fp16': the KV cache crosses the graph boundary (and so is kept by the
 * engine) in half precision, Cast to fp32 right after the input and back before the output, so
 * the attention math stays fp32 and only the stored keys/values are rounded (docs/engines.md).
 */
export type KvDtype = 'fp32' | 'fp16';

/** Bytes of one stored KV element. */
export const kvElementBytes = (dtype: KvDtype): number => (dtype === 'fp16' ? 2 : 4);

export interface StageGraphOptions {
  readonly kvCache?: KvCacheMode;
  readonly kvDtype?: KvDtype;
  /** MatMulNBits accuracy_level for q8/q4 weights (default 4: int8 dot products on CPU). */
  readonly quantAccuracy?: number;
  /**
   * Largest fp32 matrix one MatMulNBits may stand for (bytes): larger q8/q4 linears are sliced by
   * output rows (LlamaBlocks). For runtimes that widen the whole matrix on every run. Default: none.
   */
  readonly quantChunkBytes?: number;
}

/**
 * The ONNX graph for layers [start, end) of a llama-family model: embedding (Gather) when
 * start = 0, the decoder layers with a KV cache each, final RMSNorm + classifier on the rows named
 * by `logit_rows` when end = numLayers. One graph serves prefill (S tokens) and decode (S = 1), and
 * several sessions packed into one run (their rows side by side, kept apart by the mask).
 */
export function buildStageGraph(manifest: ModelManifest, range: LayerRange, options: StageGraphOptions = {}): StageGraph {
  const kvCache = options.kvCache ?? 'present';
  const kvDtype = options.kvDtype ?? 'fp32';
  const a = manifest.architecture;
  if (!(Number.isInteger(range.start) && Number.isInteger(range.end) && range.start >= 0 && range.start < range.end && range.end <= a.numLayers)) {
    throw new InvalidLayerRangeError(range.start, range.end, a.numLayers);
  }
  const invFreq = ropeInverseFrequencies(a, manifest.name);
  const g = new GraphBuilder(`${manifest.name} layers ${range.start}-${range.end}`);
  const blocks = new LlamaBlocks(g, manifest, options.quantAccuracy, options.quantChunkBytes);
  const F = OnnxDataType.FLOAT;

  let hidden: string;
  if (range.start === 0) {
    const ids = g.input(StageIo.inputIds, OnnxDataType.INT32, ['S']);
    hidden = blocks.embedding(ids);
  } else {
    hidden = g.input(StageIo.hiddenIn, F, ['S', a.hiddenSize]);
  }
  const cos = g.input(StageIo.ropeCos, F, ['S', a.headDim]);
  const sin = g.input(StageIo.ropeSin, F, ['S', a.headDim]);
  const mask = g.input(StageIo.attnMask, F, ['S', 'T']);
  const rotary = rotaryTables(g, a.headDim, cos, sin);
  const rep = a.numHeads / a.numKvHeads;
  const tiledMask = rep === 1 ? mask : g.op('Tile', [mask, g.int64([rep, 1])]);

  const layers: number[] = [];
  const kvShape = (dim: string): (number | string)[] => (kvCache === 'append' ? [dim, a.numKvHeads, a.headDim] : [a.numKvHeads, dim, a.headDim]);
  // fp16 KV: only the cache's boundary is half precision; a Cast on each side keeps the math fp32.
  const KV = kvDtype === 'fp16' ? OnnxDataType.FLOAT16 : F;
  const kvIn = (name: string): string => {
    const x = g.input(name, KV, kvShape('P'));
    return kvDtype === 'fp16' ? g.op('Cast', [x], { to: attr.int(F) }) : x;
  };
  const kvOut = (name: string, value: string, dim: string): void =>
    g.output(name, kvDtype === 'fp16' ? g.op('Cast', [value], { to: attr.int(KV) }) : value, KV, kvShape(dim));
  let pastRows: string | undefined; // [P]: where append attention splits the softmax
  for (let i = range.start; i < range.end; i++) {
    layers.push(i);
    const pastKey = kvIn(StageIo.pastKey(i));
    const pastValue = kvIn(StageIo.pastValue(i));
    const cache = { rotary, mask: tiledMask, pastKey, pastValue };
    const attn = attention(
      blocks,
      g,
      a,
      i,
      blocks.rmsNorm(hidden, `layers.${i}.attn_norm.weight`),
      kvCache === 'append'
        ? { ...cache, kvCache, pastRows: (pastRows ??= g.op('Shape', [pastKey], { start: attr.int(0), end: attr.int(1) })) }
        : { ...cache, kvCache },
    );
    hidden = g.op('Add', [hidden, attn.out]);
    hidden = g.op('Add', [hidden, blocks.mlp(i, blocks.rmsNorm(hidden, `layers.${i}.ffn_norm.weight`))]);
    if (kvCache === 'append') {
      kvOut(StageIo.newKey(i), attn.presentKey, 'S');
      kvOut(StageIo.newValue(i), attn.presentValue, 'S');
    } else {
      kvOut(StageIo.presentKey(i), attn.presentKey, 'T');
      kvOut(StageIo.presentValue(i), attn.presentValue, 'T');
    }
  }

  let output: StageGraph['output'];
  if (range.end === a.numLayers) {
    // Only the rows whose next token is wanted go through the classifier (one per packed session).
    const rows = g.input(StageIo.logitRows, OnnxDataType.INT32, ['R']);
    const last = g.op('Gather', [hidden, rows], { axis: attr.int(0) });
    const logits = blocks.linear(blocks.rmsNorm(last, 'final_norm.weight'), 'lm_head', a.vocabSize, a.hiddenSize);
    g.output(StageIo.logits, logits, F, ['R', a.vocabSize]);
    // log Σ exp(logits) per row, for the TOKEN frame's logprob: vectorised here it is a few µs, while
    // 32 000 Math.exp in JS took ~1 ms of the last stage's critical path on every token.
    const vocabAxis = g.int64([-1]);
    const max = g.op('ReduceMax', [logits, vocabAxis], { keepdims: attr.int(1) });
    const sum = g.op('ReduceSum', [g.op('Exp', [g.op('Sub', [logits, max])]), vocabAxis], { keepdims: attr.int(1) });
    g.output(StageIo.logSumExp, g.op('Add', [g.op('Log', [sum]), max]), F, ['R', 1]);
    output = StageIo.logits;
  } else {
    g.output(StageIo.hiddenOut, hidden, F, ['S', a.hiddenSize]);
    output = StageIo.hiddenOut;
  }

  const opsets = [{ domain: '', version: STAGE_OPSET }, ...(blocks.usesContribOps ? [{ domain: 'com.microsoft', version: 1 }] : [])];
  const model = encodeOnnxModel(g.build(opsets));
  const files = [...new Set(blocks.weights.map((w) => w.file))];
  return { model, weights: blocks.weights, files, input: range.start === 0 ? StageIo.inputIds : StageIo.hiddenIn, output, layers, invFreq, kvCache, kvDtype };
}
