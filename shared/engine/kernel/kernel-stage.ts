import type { SessionId } from '../../ids.ts';
import { ropeTables } from '../../graph/rope.ts';
import type { LayerRange } from '../../model/layer-range.ts';
import type { ModelManifest } from '../../model/manifest.ts';
import type { Stage, StageInput, StageOutput } from '../engine.ts';
import { EngineRuntimeError } from '../errors.ts';
import { checkStageInput } from '../stage-input.ts';
import { RunTiming, type RunTimingSnapshot } from '../run-timing.ts';
import { createSerialQueue, type SerialQueue } from '../serial-queue.ts';
import type { KernelHeap } from './kernel-heap.ts';
import type { KernelLayer, KernelWeights } from './kernel-weights.ts';

/**
 * A session's KV cache in the kernel heap: per layer, chunks of CHUNK_ROWS rows of keys and of
 * values [row, kvHeads·headDim]; position t is row t mod CHUNK_ROWS of chunk ⌊t / CHUNK_ROWS⌋.
 * Fixed-size chunks let a freed session's memory serve the next without fragmenting the heap.
 */
interface KvState {
  length: number;
  keys: number[][];
  values: number[][];
}

const CHUNK_ROWS = 64;

/**
 * A layer range run by the WASM kernels (kernel-heap.ts) one position at a time: RMSNorm, RoPE,
 * grouped-query attention over the session's cache and SwiGLU in float32 JS, every linear as an
 * int8 dot product per block of 32 in WebAssembly SIMD. Hidden states cross stage boundaries as
 * the same float32 values a single stage would hold, so split = unsplit exactly.
 */
export class KernelStage implements Stage {
  private readonly sessions = new Map<SessionId, KvState>();
  private readonly label: string;
  private readonly timing = new RunTiming();
  private disposed = false;
  // Scratch vectors, reused by every position.
  private readonly x: Float32Array;
  private readonly h: Float32Array;
  private readonly q: Float32Array;
  private readonly k: Float32Array;
  private readonly v: Float32Array;
  private readonly proj: Float32Array;
  private readonly gate: Float32Array;
  private readonly up: Float32Array;
  /** Heap addresses: the rotated query, the attention output, one head's scores. */
  private readonly qAt: number;
  private readonly attAt: number;
  private readonly scoresAt: number;

  constructor(
    readonly range: LayerRange,
    private readonly manifest: ModelManifest,
    private readonly weights: KernelWeights,
    private readonly heap: KernelHeap,
    private readonly invFreq: Float32Array,
    private readonly serial: SerialQueue = createSerialQueue(),
  ) {
    this.label = `[${range.start}, ${range.end})`;
    const a = manifest.architecture;
    this.x = new Float32Array(a.hiddenSize);
    this.h = new Float32Array(a.hiddenSize);
    this.q = new Float32Array(a.numHeads * a.headDim);
    this.k = new Float32Array(a.numKvHeads * a.headDim);
    this.v = new Float32Array(a.numKvHeads * a.headDim);
    this.proj = new Float32Array(a.hiddenSize);
    this.gate = new Float32Array(a.intermediateSize);
    this.up = new Float32Array(a.intermediateSize);
    heap.setChunkFloats(CHUNK_ROWS * a.numKvHeads * a.headDim);
    this.qAt = heap.allocFloats(a.numHeads * a.headDim);
    this.attAt = heap.allocFloats(a.numHeads * a.headDim);
    this.scoresAt = heap.allocFloats(Math.ceil(a.contextLength / CHUNK_ROWS) * CHUNK_ROWS);
  }

  run(session: SessionId, input: StageInput): Promise<StageOutput> {
    return this.serial(async () => {
      const started = performance.now();
      const decode = this.sessionLength(session) > 0 && inputRows(input) === 1;
      const out = this.runNow(session, input);
      if (decode) this.timing.record(1, performance.now() - started);
      return out;
    });
  }

  runTiming(): RunTimingSnapshot {
    // Sessions never pack here: each more session costs a whole run.
    const t = this.timing.snapshot();
    return t.decodeMs === undefined ? t : { ...t, extraRowMs: t.decodeMs };
  }

  /** Threads its products run on (kernel-threads.ts), and the bytes of its WebAssembly memory. */
  get threads(): number {
    return this.heap.threadCount;
  }

  get heapBytes(): number {
    return this.heap.bytes;
  }

  sessionLength(session: SessionId): number {
    return this.sessions.get(session)?.length ?? 0;
  }

  freeSession(session: SessionId): void {
    const state = this.sessions.get(session);
    if (state === undefined) return;
    this.sessions.delete(session);
    this.release(state);
  }

  private release(state: KvState): void {
    for (const chunks of [...state.keys, ...state.values]) for (const c of chunks) this.heap.freeChunk(c);
    state.keys = [];
    state.values = [];
  }

  /** Idempotent. Ends the stage's helper threads once the runs queued before it are done. */
  async dispose(): Promise<void> {
    this.disposed = true;
    for (const id of [...this.sessions.keys()]) this.freeSession(id);
    await this.serial(async () => undefined);
    this.heap.close();
  }

  private checkInput(id: SessionId, input: StageInput): number {
    if (this.disposed) throw new EngineRuntimeError(this.label, `run of session ${id} after the stage was disposed`);
    return checkStageInput(this.label, this.manifest, this.range.start === 0, id, input, this.sessionLength(id));
  }

  private runNow(id: SessionId, input: StageInput): StageOutput {
    const seqLen = this.checkInput(id, input);
    const known = this.sessions.get(id);
    const state: KvState = known ?? { length: 0, keys: this.weights.layers.map(() => []), values: this.weights.layers.map(() => []) };
    try {
      return this.forward(id, input, seqLen, state);
    } catch (err) {
      if (known === undefined) this.release(state);
      throw err;
    }
  }

  private forward(id: SessionId, input: StageInput, seqLen: number, state: KvState): StageOutput {
    const a = this.manifest.architecture;
    const start = state.length;
    this.ensureCapacity(state, start + seqLen);
    const last = this.weights.head !== undefined;
    const hidden = last ? undefined : new Float32Array(seqLen * a.hiddenSize);
    const x = this.x;
    // Rows past `length` are written here but only counted once the whole run succeeded, so a
    // failed run leaves the session's cache as it was.
    for (let s = 0; s < seqLen; s++) {
      if (input.kind === 'tokens') (this.weights.embedding as (id: number, into: Float32Array) => void)(input.ids[s] as number, x);
      else x.set(input.data.subarray(s * a.hiddenSize, (s + 1) * a.hiddenSize));
      const { cos, sin } = ropeTables(this.invFreq, start + s, 1);
      for (let l = 0; l < this.weights.layers.length; l++) this.layer(this.weights.layers[l] as KernelLayer, l, state, start + s, cos, sin);
      hidden?.set(x, s * a.hiddenSize);
    }
    state.length = start + seqLen;
    this.sessions.set(id, state);
    if (hidden !== undefined) return { kind: 'hidden', data: hidden, seqLen };
    const head = this.weights.head as NonNullable<KernelWeights['head']>;
    rmsNorm(x, head.norm, a.rmsEps, this.h);
    this.heap.setInput(this.h);
    const logits = new Float32Array(a.vocabSize);
    this.heap.matvec(head.matrix, logits);
    return { kind: 'logits', data: logits, logSumExp: logSumExp(logits) };
  }

  /** One decoder layer on this.x at position `pos`, in place; writes the position's keys/values. */
  private layer(w: KernelLayer, l: number, state: KvState, pos: number, cos: Float32Array, sin: Float32Array): void {
    const a = this.manifest.architecture;
    const { headDim, numHeads, numKvHeads } = a;
    const kvDim = numKvHeads * headDim;
    const { x, h, q, k, v, proj, heap } = this;
    rmsNorm(x, w.attnNorm, a.rmsEps, h);
    heap.setInput(h);
    heap.matvec(w.q, q);
    heap.matvec(w.k, k);
    heap.matvec(w.v, v);
    if (w.qBias !== undefined) addInto(q, w.qBias);
    if (w.kBias !== undefined) addInto(k, w.kBias);
    if (w.vBias !== undefined) addInto(v, w.vBias);
    rotateHalf(q, numHeads, headDim, cos, sin);
    rotateHalf(k, numKvHeads, headDim, cos, sin);
    const row = pos % CHUNK_ROWS;
    const chunk = (pos - row) / CHUNK_ROWS;
    const keyChunks = state.keys[l] as number[];
    const valueChunks = state.values[l] as number[];
    heap.f32((keyChunks[chunk] as number) + row * kvDim * 4, kvDim).set(k);
    heap.f32((valueChunks[chunk] as number) + row * kvDim * 4, kvDim).set(v);
    heap.f32(this.qAt, q.length).set(q);
    heap.f32(this.attAt, q.length).fill(0);

    const positions = pos + 1;
    const chunks = chunk + 1;
    const scale = 1 / Math.sqrt(headDim);
    const rep = numHeads / numKvHeads;
    for (let hh = 0; hh < numHeads; hh++) {
      const qo = hh * headDim * 4;
      const ko = Math.floor(hh / rep) * headDim * 4;
      for (let c = 0; c < chunks; c++) {
        const n = Math.min(CHUNK_ROWS, positions - c * CHUNK_ROWS);
        heap.dots(this.qAt + qo, (keyChunks[c] as number) + ko, kvDim, headDim, n, this.scoresAt + c * CHUNK_ROWS * 4);
      }
      softmax(heap.f32(this.scoresAt, positions), scale);
      for (let c = 0; c < chunks; c++) {
        const n = Math.min(CHUNK_ROWS, positions - c * CHUNK_ROWS);
        heap.weightedSum(this.scoresAt + c * CHUNK_ROWS * 4, (valueChunks[c] as number) + ko, kvDim, headDim, n, this.attAt + qo);
      }
    }
    heap.setInput(heap.f32(this.attAt, q.length));
    heap.matvec(w.o, proj);
    addInto(x, proj);

    rmsNorm(x, w.ffnNorm, a.rmsEps, h);
    heap.setInput(h);
    heap.matvec(w.gate, this.gate);
    heap.matvec(w.up, this.up);
    const g = this.gate;
    const u = this.up;
    for (let i = 0; i < g.length; i++) {
      const gi = g[i] as number;
      g[i] = (gi / (1 + Math.exp(-gi))) * (u[i] as number);
    }
    heap.setInput(g);
    heap.matvec(w.down, proj);
    addInto(x, proj);
  }

  /** Adds chunks to every layer's keys and values until they hold `rows` positions. */
  private ensureCapacity(state: KvState, rows: number): void {
    const need = Math.ceil(rows / CHUNK_ROWS);
    for (let l = 0; l < this.weights.layers.length; l++) {
      const keys = state.keys[l] as number[];
      const values = state.values[l] as number[];
      while (keys.length < need) keys.push(this.heap.chunk());
      while (values.length < need) values.push(this.heap.chunk());
    }
  }
}

function inputRows(input: StageInput): number {
  return input.kind === 'tokens' ? input.ids.length : input.seqLen;
}

/** out = x / sqrt(mean(x²) + eps) · w. */
function rmsNorm(x: Float32Array, w: Float32Array, eps: number, out: Float32Array): void {
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += (x[i] as number) * (x[i] as number);
  const root = Math.sqrt(ss / x.length + eps);
  for (let i = 0; i < x.length; i++) out[i] = ((x[i] as number) / root) * (w[i] as number);
}

function addInto(x: Float32Array, y: Float32Array): void {
  for (let i = 0; i < x.length; i++) x[i] = (x[i] as number) + (y[i] as number);
}

/** RoPE, rotate-half layout (as the stage graph's RotaryEmbedding with interleaved = 0). */
function rotateHalf(x: Float32Array, heads: number, headDim: number, cos: Float32Array, sin: Float32Array): void {
  const half = headDim / 2;
  for (let hh = 0; hh < heads; hh++) {
    const o = hh * headDim;
    for (let i = 0; i < half; i++) {
      const x1 = x[o + i] as number;
      const x2 = x[o + half + i] as number;
      const c = cos[i] as number;
      const s = sin[i] as number;
      x[o + i] = x1 * c - x2 * s;
      x[o + half + i] = x2 * c + x1 * s;
    }
  }
}

/** In place: softmax(scale · x). */
function softmax(x: Float32Array, scale: number): void {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) if ((x[i] as number) > max) max = x[i] as number;
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    const e = Math.exp(((x[i] as number) - max) * scale);
    x[i] = e;
    sum += e;
  }
  const inv = 1 / sum;
  for (let i = 0; i < x.length; i++) x[i] = (x[i] as number) * inv;
}

function logSumExp(x: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) if ((x[i] as number) > max) max = x[i] as number;
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += Math.exp((x[i] as number) - max);
  return Math.log(sum) + max;
}
