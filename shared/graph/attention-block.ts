// Self-attention of one llama layer for the stage graph (docs/engines.md, "Graph of a stage"): q/k/v
// in one linear, RoPE, grouped-query attention over the KV cache in either cache mode, and the
// output projection.
import type { GraphBuilder } from '../onnx/graph-builder.ts';
import { attr } from '../onnx/graph-builder.ts';
import type { LlamaArchitecture } from '../model/manifest.ts';
import type { LlamaBlocks } from './llama-blocks.ts';

/** cos/sin [S, headDim/2] and the position ids (offset 0: row i reads row i) for RotaryEmbedding. */
export interface RotaryTables {
  readonly cos: string;
  readonly sin: string;
  readonly positions: string;
}

/** What attention() reads besides the layer's input: see StageIo for the cache layouts. */
export type AttentionIo = {
  readonly rotary: RotaryTables;
  /** The additive mask, already tiled to [rep·S, T]. */
  readonly mask: string;
  readonly pastKey: string;
  readonly pastValue: string;
} & (
  | { readonly kvCache: 'present' }
  /** pastRows: [P] (int64), the number of cached rows fed (at least 1). */
  | { readonly kvCache: 'append'; readonly pastRows: string }
);

export interface AttentionOut {
  readonly out: string;
  /** 'present': the whole cache [kvHeads, T, headDim]; 'append': the S new rows [S, kvHeads, headDim]. */
  readonly presentKey: string;
  readonly presentValue: string;
}

/** [S, heads*headDim] → [heads, S, headDim]. */
function splitHeads(g: GraphBuilder, x: string, heads: number, headDim: number): string {
  const r = g.op('Reshape', [x, g.int64([-1, heads, headDim])]);
  return g.op('Transpose', [r], { perm: attr.ints([1, 0, 2]) });
}

/**
 * The RotaryEmbedding inputs, built once per graph from the rope_cos/rope_sin inputs [S, headDim]
 * (each half repeated, rope.ts): their first halves, which row s then reads as position s.
 */
export function rotaryTables(g: GraphBuilder, headDim: number, cos: string, sin: string): RotaryTables {
  const zero = g.int64([0]);
  const one = g.int64([1]);
  const half = g.int64([headDim / 2]);
  return {
    cos: g.op('Slice', [cos, zero, half, one]),
    sin: g.op('Slice', [sin, zero, half, one]),
    // One id is an offset: row s reads position 0 + s (no int64 math, which WebGPU runs on the CPU).
    positions: zero,
  };
}

/**
 * Self-attention of layer `i` on normalised x [S, hidden]. Appends the new keys/values to the
 * past cache (present = concat(past, new)). Grouped-query attention without copying KV heads:
 * the `rep` query heads sharing one KV head are stacked along the row axis, so one batched
 * MatMul per KV head serves them all; `mask` must already be tiled to [rep*S, T].
 * With `kvCache: 'append'` the past comes in position-major [P, kvHeads, headDim] and the
 * returned presentKey/presentValue are only the S new rows, position-major too (StageIo). The
 * past is then never copied: scores and weighted values are taken over the past and the new
 * rows apart (ORT reads the position-major past in place), and only the scores [.., T] are
 * joined for the softmax. Joining past and new rows (a fresh cache-sized buffer per layer,
 * twice) cost a 110m q4 decode step 10% at 900 cached positions. `pastRows` is [P] (int64),
 * P ≥ 1: a zero-length past crashed onnxruntime-node (SIGFPE), so callers feed one masked zero
 * row.
 */
export function attention(blocks: LlamaBlocks, g: GraphBuilder, a: LlamaArchitecture, i: number, x: string, io: AttentionIo): AttentionOut {
  const qDim = a.numHeads * a.headDim;
  const kvDim = a.numKvHeads * a.headDim;
  const p = `layers.${i}`;
  const bias = (n: string): string | undefined => (a.attentionBias && blocks.has(`${p}.${n}.bias`) ? `${p}.${n}.bias` : undefined);
  const [qLin, kLin, vLin] = blocks.linears(
    x,
    [
      { name: `${p}.q`, out: qDim, bias: bias('q') },
      { name: `${p}.k`, out: kvDim, bias: bias('k') },
      { name: `${p}.v`, out: kvDim, bias: bias('v') },
    ],
    a.hiddenSize,
  ) as [string, string, string];
  const v = splitHeads(g, vLin, a.numKvHeads, a.headDim);
  // RoPE (rotate-half) as ORT's RotaryEmbedding, one node where standard ops took six; each
  // row looks up its own cos/sin by its index, so packed rows keep their own positions.
  const r = io.rotary;
  const rotate = (y: string, heads: number, dim: number): string =>
    splitHeads(
      g,
      g.op(
        'RotaryEmbedding',
        [g.op('Reshape', [y, g.int64([1, -1, dim])]), r.positions, r.cos, r.sin],
        { num_heads: attr.int(heads), interleaved: attr.int(0) },
        { domain: 'com.microsoft' },
      ),
      heads,
      a.headDim,
    );
  blocks.usesContribOps = true;
  const qRot = g.op('Mul', [rotate(qLin, a.numHeads, qDim), g.float32([1 / Math.sqrt(a.headDim)])]);
  const kRot = rotate(kLin, a.numKvHeads, kvDim);
  const qGrouped = g.op('Reshape', [qRot, g.int64([a.numKvHeads, -1, a.headDim])]);
  const lastTwo = attr.ints([0, 2, 1]);
  let context: string; // [kvHeads, rep*S, headDim]
  let presentKey: string;
  let presentValue: string;
  if (io.kvCache === 'append') {
    // [kvHeads, S, headDim] ⇄ [S, kvHeads, headDim]: the caller's cache grows by whole rows.
    const headsFirst = attr.ints([1, 0, 2]);
    presentKey = g.op('Transpose', [kRot], { perm: headsFirst });
    presentValue = g.op('Transpose', [v], { perm: headsFirst });
    const pastKeysT = g.op('Transpose', [g.op('Transpose', [io.pastKey], { perm: headsFirst })], { perm: lastTwo });
    const scores = g.op('Add', [
      g.op('Concat', [g.op('MatMul', [qGrouped, pastKeysT]), g.op('MatMul', [qGrouped, g.op('Transpose', [kRot], { perm: lastTwo })])], { axis: attr.int(-1) }),
      io.mask,
    ]);
    const probs = g.op('Softmax', [scores], { axis: attr.int(-1) });
    const lastAxis = g.int64([-1]);
    const pastProbs = g.op('Slice', [probs, g.int64([0]), io.pastRows, lastAxis]);
    const newProbs = g.op('Slice', [probs, io.pastRows, g.int64([Number.MAX_SAFE_INTEGER]), lastAxis]);
    const pastValues = g.op('Transpose', [io.pastValue], { perm: headsFirst });
    context = g.op('Add', [g.op('MatMul', [pastProbs, pastValues]), g.op('MatMul', [newProbs, v])]);
  } else {
    presentKey = g.op('Concat', [io.pastKey, kRot], { axis: attr.int(1) });
    presentValue = g.op('Concat', [io.pastValue, v], { axis: attr.int(1) });
    const scores = g.op('Add', [g.op('MatMul', [qGrouped, g.op('Transpose', [presentKey], { perm: lastTwo })]), io.mask]);
    context = g.op('MatMul', [g.op('Softmax', [scores], { axis: attr.int(-1) }), presentValue]);
  }
  const heads = g.op('Reshape', [context, g.int64([a.numHeads, -1, a.headDim])]);
  const merged = g.op('Reshape', [g.op('Transpose', [heads], { perm: attr.ints([1, 0, 2]) }), g.int64([-1, qDim])]);
  return { out: blocks.linear(merged, `${p}.o`, a.hiddenSize, qDim), presentKey, presentValue };
}
