import type { SessionId } from '../ids.ts';
import type { StageGraph } from '../graph/build-stage-graph.ts';
import { causalMask, ropeTables } from '../graph/rope.ts';
import { StageIo } from '../graph/stage-io.ts';
import type { ModelManifest } from '../model/manifest.ts';
import type { LayerRange, Stage, StageInput, StageOutput } from './engine.ts';
import { ContextLengthExceededError, EngineRuntimeError, StageInputError } from './errors.ts';
import type { CreateOrtTensor, OrtSessionLike, OrtTensorLike } from './ort-like.ts';
import { createSerialQueue, type SerialQueue } from './serial-queue.ts';

interface SessionState {
  length: number;
  /** 'present' graphs: present_* outputs of the last run, fed back as past_* (keyed by the past_* input name). */
  past: Map<string, OrtTensorLike>;
  /**
   * 'append' graphs: the cache rows [length, kvHeads, headDim] per past_* input name, in buffers
   * with room to grow (doubling, capped at the context length): each run appends its new rows
   * and feeds a view of the first `length` rows, so nothing cache-sized is copied out of ORT.
   */
  rows: Map<string, Float32Array>;
}

/**
 * A Stage over one ONNX Runtime session of a stage graph (either runtime). Holds the KV caches of
 * each ring session and builds the per-run feeds (RoPE tables, causal mask, past caches).
 * Runs are serialised: one ORT session is not re-entrant on every backend.
 */
export class OrtStage implements Stage {
  private readonly sessions = new Map<SessionId, SessionState>();
  private readonly label: string;
  private disposed = false;

  constructor(
    readonly range: LayerRange,
    private readonly manifest: ModelManifest,
    private readonly graph: StageGraph,
    private readonly session: OrtSessionLike,
    private readonly createTensor: CreateOrtTensor,
    /** Where runs queue up: per stage by default; onnxruntime-web needs one queue per engine. */
    private readonly serial: SerialQueue = createSerialQueue(),
  ) {
    this.label = `[${range.start}, ${range.end})`;
  }

  run(session: SessionId, input: StageInput): Promise<StageOutput> {
    return this.serial(() => this.runNow(session, input));
  }

  sessionLength(session: SessionId): number {
    return this.sessions.get(session)?.length ?? 0;
  }

  freeSession(session: SessionId): void {
    const state = this.sessions.get(session);
    if (state === undefined) return;
    for (const t of state.past.values()) t.dispose?.();
    this.sessions.delete(session);
  }

  /** Idempotent: the engine disposes every stage it loaded, callers may have done so already. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const id of [...this.sessions.keys()]) this.freeSession(id);
    await this.serial(() => this.session.release());
  }

  private mainInput(input: StageInput): { tensor: OrtTensorLike; seqLen: number } {
    const a = this.manifest.architecture;
    if (this.graph.input === StageIo.inputIds) {
      if (input.kind !== 'tokens') throw new StageInputError(this.label, 'expected token ids (the stage holds the embedding)');
      for (const id of input.ids) {
        if (!(id >= 0 && id < a.vocabSize)) throw new StageInputError(this.label, `token id ${id} outside the vocabulary [0, ${a.vocabSize})`);
      }
      return { tensor: this.createTensor('int32', input.ids, [input.ids.length]), seqLen: input.ids.length };
    }
    if (input.kind !== 'hidden') throw new StageInputError(this.label, 'expected hidden states from the previous stage');
    if (input.data.length !== input.seqLen * a.hiddenSize) {
      throw new StageInputError(this.label, `hidden states of ${input.data.length} floats, expected ${input.seqLen} × ${a.hiddenSize}`);
    }
    return { tensor: this.createTensor('float32', input.data, [input.seqLen, a.hiddenSize]), seqLen: input.seqLen };
  }

  private async runNow(id: SessionId, input: StageInput): Promise<StageOutput> {
    if (this.disposed) throw new EngineRuntimeError(this.label, `run of session ${id} after the stage was disposed`);
    const a = this.manifest.architecture;
    const main = this.mainInput(input);
    const seqLen = main.seqLen;
    if (seqLen < 1) throw new StageInputError(this.label, 'expected at least one position');
    const state = this.sessions.get(id) ?? { length: 0, past: new Map<string, OrtTensorLike>(), rows: new Map<string, Float32Array>() };
    if (state.length + seqLen > a.contextLength) throw new ContextLengthExceededError(id, state.length + seqLen, a.contextLength);

    const { cos, sin } = ropeTables(this.graph.invFreq, state.length, seqLen);
    const feeds: Record<string, OrtTensorLike> = {
      [this.graph.input]: main.tensor,
      [StageIo.ropeCos]: this.createTensor('float32', cos, [seqLen, a.headDim]),
      [StageIo.ropeSin]: this.createTensor('float32', sin, [seqLen, a.headDim]),
      [StageIo.attnMask]: this.createTensor('float32', causalMask(state.length, seqLen), [seqLen, state.length + seqLen]),
    };
    const append = this.graph.kvCache === 'append';
    const rowFloats = a.numKvHeads * a.headDim;
    const empty = this.createTensor('float32', new Float32Array(0), append ? [0, a.numKvHeads, a.headDim] : [a.numKvHeads, 0, a.headDim]);
    for (const layer of this.graph.layers) {
      for (const name of [StageIo.pastKey(layer), StageIo.pastValue(layer)]) {
        const rows = state.rows.get(name);
        feeds[name] = !append
          ? (state.past.get(name) ?? empty)
          : rows === undefined || state.length === 0
            ? empty
            : this.createTensor('float32', rows.subarray(0, state.length * rowFloats), [state.length, a.numKvHeads, a.headDim]);
      }
    }

    let out: Record<string, OrtTensorLike>;
    try {
      out = await this.session.run(feeds);
    } catch (err) {
      throw new EngineRuntimeError(this.label, `run of session ${id} (${seqLen} positions after ${state.length}) failed`, { cause: err });
    }
    if (append) {
      for (const layer of this.graph.layers) {
        this.appendRows(state, StageIo.pastKey(layer), this.outputTensor(out, StageIo.newKey(layer)), seqLen, rowFloats);
        this.appendRows(state, StageIo.pastValue(layer), this.outputTensor(out, StageIo.newValue(layer)), seqLen, rowFloats);
      }
    } else {
      const next = new Map<string, OrtTensorLike>();
      for (const layer of this.graph.layers) {
        next.set(StageIo.pastKey(layer), this.outputTensor(out, StageIo.presentKey(layer)));
        next.set(StageIo.pastValue(layer), this.outputTensor(out, StageIo.presentValue(layer)));
      }
      for (const t of state.past.values()) t.dispose?.();
      state.past = next;
    }
    state.length += seqLen;
    this.sessions.set(id, state);

    const data = this.outputTensor(out, this.graph.output).data as Float32Array;
    return this.graph.output === StageIo.logits ? { kind: 'logits', data } : { kind: 'hidden', data, seqLen };
  }

  /** Appends a run's new cache rows after the session's `length` rows, growing the buffer when full. */
  private appendRows(state: SessionState, name: string, fresh: OrtTensorLike, seqLen: number, rowFloats: number): void {
    const added = fresh.data as Float32Array;
    if (added.length !== seqLen * rowFloats) throw new EngineRuntimeError(this.label, `output for ${name} has ${added.length} floats, expected ${seqLen * rowFloats}`);
    const used = state.length * rowFloats;
    let rows = state.rows.get(name);
    if (rows === undefined || rows.length < used + added.length) {
      const roomy = Math.min(Math.max(2 * (rows?.length ?? 0), 64 * rowFloats), this.manifest.architecture.contextLength * rowFloats);
      const want = Math.max(used + added.length, roomy);
      const grown = new Float32Array(want);
      if (rows !== undefined) grown.set(rows.subarray(0, used));
      rows = grown;
      state.rows.set(name, rows);
    }
    rows.set(added, used);
  }

  private outputTensor(out: Record<string, OrtTensorLike>, name: string): OrtTensorLike {
    const t = out[name];
    if (t === undefined) throw new EngineRuntimeError(this.label, `output ${name} missing from the run's results`);
    return t;
  }
}

/** Runs one position through a fresh stage (and forgets it): ORT's first run pays for allocation. */
export async function warmUpStage(stage: Stage, manifest: ModelManifest): Promise<void> {
  const id = '__warmup__' as SessionId;
  const input: StageInput =
    stage.range.start === 0
      ? { kind: 'tokens', ids: new Int32Array([0]) }
      : { kind: 'hidden', data: new Float32Array(manifest.architecture.hiddenSize), seqLen: 1 };
  await stage.run(id, input);
  stage.freeSession(id);
}
