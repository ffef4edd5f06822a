// What an OrtStage keeps per ring session (docs/engines.md): the KV cache, as the ORT tensors of
// the last run ('present' graphs) or as growable row buffers ('append' graphs), and the pieces
// both run paths (one session alone, several packed) share.
import type { SessionId } from '../ids.ts';
import { kvElementBytes, type StageGraph } from '../graph/build-stage-graph.ts';
import type { ModelManifest } from '../model/manifest.ts';
import { EngineRuntimeError } from './errors.ts';
import type { CreateOrtTensor, OrtSessionLike, OrtTensorLike } from './ort-like.ts';

export interface SessionState {
  length: number;
  /** 'present' graphs: present_* outputs of the last run, fed back as past_* (keyed by the past_* input name). */
  past: Map<string, OrtTensorLike>;
  /**
   * 'append' graphs: the cache rows [length, kvHeads, headDim] per past_* input name, in buffers
   * with room to grow (doubling, capped at the context length): each run appends its new rows
   * and feeds a view of the first `length` rows, so nothing cache-sized is copied out of ORT.
   */
  rows: Map<string, KvRows>;
}

/** Cache rows as the graph's `kvDtype` keeps them: fp32 values, or fp16 bit patterns. */
export type KvRows = Float32Array | Uint16Array;

/** One stage's ORT session and what its runs need to build feeds and keep caches. */
export interface OrtStageParts {
  /** `[start, end)`, for errors. */
  readonly label: string;
  readonly manifest: ModelManifest;
  readonly graph: StageGraph;
  readonly session: OrtSessionLike;
  readonly createTensor: CreateOrtTensor;
  /** The caches of the sessions that ran here; a session is stored once its first run succeeds. */
  readonly sessions: Map<SessionId, SessionState>;
}

/** The session's state, or a fresh one (stored once its first run succeeds). */
export function stateOf(parts: OrtStageParts, id: SessionId): SessionState {
  return parts.sessions.get(id) ?? { length: 0, past: new Map<string, OrtTensorLike>(), rows: new Map<string, KvRows>() };
}

/** A zeroed buffer of `n` cache elements in the graph's KV element type. */
export function allocKvRows(graph: Pick<StageGraph, 'kvDtype'>, n: number): KvRows {
  return graph.kvDtype === 'fp16' ? new Uint16Array(n) : new Float32Array(n);
}

/** A KV feed in the graph's element type. */
export function kvTensor(parts: Pick<OrtStageParts, 'createTensor'>, data: KvRows, dims: readonly number[]): OrtTensorLike {
  return data instanceof Uint16Array ? parts.createTensor('float16', data, dims) : parts.createTensor('float32', data, dims);
}

/**
 * A KV output's data as KvRows. A float16 tensor's data is a Uint16Array where the runtime has no
 * Float16Array, a Float16Array where it has one: either way the same bits, viewed as Uint16Array.
 */
export function kvData(parts: { readonly graph: Pick<StageGraph, 'kvDtype'> }, t: OrtTensorLike): KvRows {
  if (parts.graph.kvDtype !== 'fp16') return t.data as Float32Array;
  const d = t.data as ArrayBufferView & { length: number };
  return d instanceof Uint16Array ? d : new Uint16Array(d.buffer, d.byteOffset, d.length);
}

/**
 * Bytes the session's KV cache holds now: the row buffers as allocated ('append', room to grow
 * included) or the last run's present tensors ('present').
 */
export function sessionKvBytes(parts: { readonly graph: Pick<StageGraph, 'kvDtype'> }, state: SessionState): number {
  let bytes = 0;
  for (const rows of state.rows.values()) bytes += rows.byteLength;
  const element = kvElementBytes(parts.graph.kvDtype);
  for (const t of state.past.values()) bytes += t.dims.reduce((n, d) => n * d, 1) * element;
  return bytes;
}

/** Floats of one cache row of one layer: [kvHeads, headDim]. */
export function rowFloatsOf(manifest: ModelManifest): number {
  return manifest.architecture.numKvHeads * manifest.architecture.headDim;
}

/**
 * Appends a run's `rows` new cache rows after the session's `length` rows, growing the buffer when
 * full (doubling from 64 rows, capped at the context length, so a long session copies its cache
 * O(log n) times).
 */
export function appendRows(parts: Pick<OrtStageParts, 'label' | 'manifest'>, state: SessionState, name: string, added: KvRows, rows: number): void {
  const rowFloats = rowFloatsOf(parts.manifest);
  if (added.length !== rows * rowFloats)
    throw new EngineRuntimeError(parts.label, `output for ${name} has ${added.length} floats, expected ${rows * rowFloats}`);
  const used = state.length * rowFloats;
  let buffer = state.rows.get(name);
  if (buffer === undefined || buffer.length < used + added.length) {
    const roomy = Math.min(Math.max(2 * (buffer?.length ?? 0), 64 * rowFloats), parts.manifest.architecture.contextLength * rowFloats);
    // The buffer keeps the element type of the rows it is given (the graph's kvDtype).
    const size = Math.max(used + added.length, roomy);
    const grown = added instanceof Uint16Array ? new Uint16Array(size) : new Float32Array(size);
    if (buffer !== undefined) grown.set(buffer.subarray(0, used));
    buffer = grown;
    state.rows.set(name, buffer);
  }
  buffer.set(added, used);
}

export function outputTensor(parts: OrtStageParts, out: Record<string, OrtTensorLike>, name: string): OrtTensorLike {
  const t = out[name];
  if (t === undefined) throw new EngineRuntimeError(parts.label, `output ${name} missing from the run's results`);
  return t;
}
