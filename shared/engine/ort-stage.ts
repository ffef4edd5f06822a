import type { SessionId } from '../ids.ts';
import type { StageGraph } from '../graph/build-stage-graph.ts';
import { causalMask, ropeTables } from '../graph/rope.ts';
import { StageIo } from '../graph/stage-io.ts';
import type { ModelManifest } from '../model/manifest.ts';
import type { Stage, StageInput, StageOutput } from './engine.ts';
import type { LayerRange } from '../model/layer-range.ts';
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

interface Pending {
  readonly session: SessionId;
  readonly input: StageInput;
  resolve(out: StageOutput): void;
  reject(err: unknown): void;
}

/** Bounds of one packed run: the mask is rows × (cached + rows) floats. */
const MAX_PACKED_SESSIONS = 16;
const MAX_PACKED_ROWS = 512;
/** What the causal mask puts where a row must not look (rope.ts `causalMask`). */
const MASKED = -1e9;

const inputRows = (input: StageInput): number => (input.kind === 'tokens' ? input.ids.length : input.seqLen);

/**
 * A Stage over one ONNX Runtime session of a stage graph (either runtime). Holds the KV caches of
 * each ring session and builds the per-run feeds (RoPE tables, causal mask, past caches).
 * Runs are serialised: one ORT session is not re-entrant on every backend.
 */
export class OrtStage implements Stage {
  private readonly sessions = new Map<SessionId, SessionState>();
  private readonly label: string;
  private disposed = false;
  private readonly pending: Pending[] = [];
  private drainScheduled = false;
  /** ORT runs made, and how many of them packed several sessions (how many in all). */
  readonly runStats = { runs: 0, packedRuns: 0, packedSessions: 0 };

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
    return new Promise<StageOutput>((resolve, reject) => {
      this.pending.push({ session, input, resolve, reject });
      this.scheduleDrain();
    });
  }

  /**
   * One queued ORT run takes whatever is waiting by the time it starts: a single request runs as
   * it always did; requests of several sessions run packed into one ORT run ('append' graphs),
   * since a decode step streams every weight of the stage from memory whatever its row count.
   */
  private scheduleDrain(): void {
    if (this.drainScheduled || this.pending.length === 0) return;
    this.drainScheduled = true;
    void this.serial(async () => {
      this.drainScheduled = false;
      try {
        await this.runBatch(this.takeBatch());
      } finally {
        this.scheduleDrain();
      }
    });
  }

  /** Waiting requests that may share a run: one per session, in arrival order within a session. */
  private takeBatch(): Pending[] {
    const batch: Pending[] = [];
    const passed = new Set<SessionId>();
    let rows = 0;
    const packable = this.graph.kvCache === 'append';
    for (let i = 0; i < this.pending.length && batch.length < MAX_PACKED_SESSIONS;) {
      const p = this.pending[i] as Pending;
      const n = inputRows(p.input);
      if (!passed.has(p.session) && (batch.length === 0 || (packable && rows + n <= MAX_PACKED_ROWS))) {
        this.pending.splice(i, 1);
        batch.push(p);
        rows += n;
      } else {
        i++;
      }
      passed.add(p.session); // a later request of this session must not overtake this one
    }
    return batch;
  }

  private async runBatch(batch: Pending[]): Promise<void> {
    // Requests that cannot run (bad input, context full) fail alone, before anything runs.
    const ok: Pending[] = [];
    for (const p of batch) {
      try {
        if (batch.length > 1) this.checkInput(p.session, p.input);
        ok.push(p);
      } catch (err) {
        p.reject(err);
      }
    }
    if (ok.length > 0) this.runStats.runs++;
    if (ok.length === 1) {
      const p = ok[0] as Pending;
      await this.runNow(p.session, p.input).then(p.resolve, p.reject);
    } else if (ok.length > 1) {
      this.runStats.packedRuns++;
      this.runStats.packedSessions += ok.length;
      try {
        const outs = await this.runPacked(ok);
        ok.forEach((p, i) => p.resolve(outs[i] as StageOutput));
      } catch (err) {
        for (const p of ok) p.reject(err);
      }
    }
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
    for (const p of this.pending.splice(0)) p.reject(new EngineRuntimeError(this.label, `run of session ${p.session} after the stage was disposed`));
    for (const id of [...this.sessions.keys()]) this.freeSession(id);
    await this.serial(() => this.session.release());
  }

  /** Checks a request before it runs (alone or packed); returns its number of new positions. */
  private checkInput(id: SessionId, input: StageInput): number {
    if (this.disposed) throw new EngineRuntimeError(this.label, `run of session ${id} after the stage was disposed`);
    const a = this.manifest.architecture;
    let seqLen: number;
    if (this.graph.input === StageIo.inputIds) {
      if (input.kind !== 'tokens') throw new StageInputError(this.label, 'expected token ids (the stage holds the embedding)');
      for (const t of input.ids) {
        if (!(t >= 0 && t < a.vocabSize)) throw new StageInputError(this.label, `token id ${t} outside the vocabulary [0, ${a.vocabSize})`);
      }
      seqLen = input.ids.length;
    } else {
      if (input.kind !== 'hidden') throw new StageInputError(this.label, 'expected hidden states from the previous stage');
      if (input.data.length !== input.seqLen * a.hiddenSize) {
        throw new StageInputError(this.label, `hidden states of ${input.data.length} floats, expected ${input.seqLen} × ${a.hiddenSize}`);
      }
      seqLen = input.seqLen;
    }
    if (seqLen < 1) throw new StageInputError(this.label, 'expected at least one position');
    const length = this.sessions.get(id)?.length ?? 0;
    if (length + seqLen > a.contextLength) throw new ContextLengthExceededError(id, length + seqLen, a.contextLength);
    return seqLen;
  }

  /** The session's state, or a fresh one (stored once its first run succeeds). */
  private stateOf(id: SessionId): SessionState {
    return this.sessions.get(id) ?? { length: 0, past: new Map<string, OrtTensorLike>(), rows: new Map<string, Float32Array>() };
  }

  private async runNow(id: SessionId, input: StageInput): Promise<StageOutput> {
    const a = this.manifest.architecture;
    const seqLen = this.checkInput(id, input);
    const state = this.stateOf(id);
    const main = input.kind === 'tokens' ? this.createTensor('int32', input.ids, [seqLen]) : this.createTensor('float32', input.data, [seqLen, a.hiddenSize]);

    const { cos, sin } = ropeTables(this.graph.invFreq, state.length, seqLen);
    const feeds: Record<string, OrtTensorLike> = {
      [this.graph.input]: main,
      [StageIo.ropeCos]: this.createTensor('float32', cos, [seqLen, a.headDim]),
      [StageIo.ropeSin]: this.createTensor('float32', sin, [seqLen, a.headDim]),
      [StageIo.attnMask]: this.createTensor('float32', causalMask(state.length, seqLen), [seqLen, state.length + seqLen]),
    };
    if (this.graph.output === StageIo.logits) feeds[StageIo.logitRows] = this.createTensor('int32', new Int32Array([seqLen - 1]), [1]);
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
        this.appendRows(state, StageIo.pastKey(layer), this.outputTensor(out, StageIo.newKey(layer)).data as Float32Array, seqLen, rowFloats);
        this.appendRows(state, StageIo.pastValue(layer), this.outputTensor(out, StageIo.newValue(layer)).data as Float32Array, seqLen, rowFloats);
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
    if (this.graph.output !== StageIo.logits) return { kind: 'hidden', data, seqLen };
    return { kind: 'logits', data, logSumExp: (this.outputTensor(out, StageIo.logSumExp).data as Float32Array)[0] as number };
  }

  /**
   * Several sessions in one ORT run ('append' graphs only): their new rows side by side, their
   * cached rows side by side before them, and a mask that lets each row see only its own
   * session's cache and its own earlier new rows, so every session gets what a run of its own
   * would give. RoPE tables are per row, so each row keeps its own position.
   */
  private async runPacked(batch: readonly Pending[]): Promise<StageOutput[]> {
    const a = this.manifest.architecture;
    const rowFloats = a.numKvHeads * a.headDim;
    const parts = batch.map((p) => {
      const state = this.stateOf(p.session);
      return { p, state, past: state.length, rows: inputRows(p.input), pastAt: 0, rowAt: 0 };
    });
    let cached = 0;
    let rows = 0;
    for (const x of parts) {
      x.pastAt = cached;
      x.rowAt = rows;
      cached += x.past;
      rows += x.rows;
    }
    const total = cached + rows;

    let main: OrtTensorLike;
    if (this.graph.input === StageIo.inputIds) {
      const ids = new Int32Array(rows);
      for (const x of parts) ids.set((x.p.input as Extract<StageInput, { kind: 'tokens' }>).ids, x.rowAt);
      main = this.createTensor('int32', ids, [rows]);
    } else {
      const hidden = new Float32Array(rows * a.hiddenSize);
      for (const x of parts) hidden.set((x.p.input as Extract<StageInput, { kind: 'hidden' }>).data, x.rowAt * a.hiddenSize);
      main = this.createTensor('float32', hidden, [rows, a.hiddenSize]);
    }
    const cos = new Float32Array(rows * a.headDim);
    const sin = new Float32Array(rows * a.headDim);
    const mask = new Float32Array(rows * total).fill(MASKED);
    for (const x of parts) {
      const t = ropeTables(this.graph.invFreq, x.past, x.rows);
      cos.set(t.cos, x.rowAt * a.headDim);
      sin.set(t.sin, x.rowAt * a.headDim);
      for (let k = 0; k < x.rows; k++) {
        const row = (x.rowAt + k) * total;
        mask.fill(0, row + x.pastAt, row + x.pastAt + x.past);
        mask.fill(0, row + cached + x.rowAt, row + cached + x.rowAt + k + 1);
      }
    }
    const feeds: Record<string, OrtTensorLike> = {
      [this.graph.input]: main,
      [StageIo.ropeCos]: this.createTensor('float32', cos, [rows, a.headDim]),
      [StageIo.ropeSin]: this.createTensor('float32', sin, [rows, a.headDim]),
      [StageIo.attnMask]: this.createTensor('float32', mask, [rows, total]),
    };
    if (this.graph.output === StageIo.logits) {
      feeds[StageIo.logitRows] = this.createTensor(
        'int32',
        Int32Array.from(parts, (x) => x.rowAt + x.rows - 1),
        [parts.length],
      );
    }
    for (const layer of this.graph.layers) {
      for (const name of [StageIo.pastKey(layer), StageIo.pastValue(layer)]) {
        const packed = new Float32Array(cached * rowFloats);
        for (const x of parts) {
          const own = x.state.rows.get(name);
          if (own !== undefined && x.past > 0) packed.set(own.subarray(0, x.past * rowFloats), x.pastAt * rowFloats);
        }
        feeds[name] = this.createTensor('float32', packed, [cached, a.numKvHeads, a.headDim]);
      }
    }

    let out: Record<string, OrtTensorLike>;
    try {
      out = await this.session.run(feeds);
    } catch (err) {
      const who = parts.map((x) => x.p.session).join(', ');
      throw new EngineRuntimeError(this.label, `packed run of sessions ${who} (${rows} positions) failed`, { cause: err });
    }
    for (const layer of this.graph.layers) {
      const keys = this.outputTensor(out, StageIo.newKey(layer)).data as Float32Array;
      const values = this.outputTensor(out, StageIo.newValue(layer)).data as Float32Array;
      for (const x of parts) {
        const at = x.rowAt * rowFloats;
        const end = at + x.rows * rowFloats;
        this.appendRows(x.state, StageIo.pastKey(layer), keys.subarray(at, end), x.rows, rowFloats);
        this.appendRows(x.state, StageIo.pastValue(layer), values.subarray(at, end), x.rows, rowFloats);
      }
    }
    const data = this.outputTensor(out, this.graph.output).data as Float32Array;
    const lse = this.graph.output === StageIo.logits ? (this.outputTensor(out, StageIo.logSumExp).data as Float32Array) : undefined;
    return parts.map((x, i) => {
      x.state.length += x.rows;
      this.sessions.set(x.p.session, x.state);
      if (lse !== undefined) return { kind: 'logits', data: data.slice(i * a.vocabSize, (i + 1) * a.vocabSize), logSumExp: lse[i] as number };
      return { kind: 'hidden', data: data.slice(x.rowAt * a.hiddenSize, (x.rowAt + x.rows) * a.hiddenSize), seqLen: x.rows };
    });
  }

  /** Appends a run's new cache rows after the session's `length` rows, growing the buffer when full. */
  private appendRows(state: SessionState, name: string, added: Float32Array, seqLen: number, rowFloats: number): void {
    if (added.length !== seqLen * rowFloats)
      throw new EngineRuntimeError(this.label, `output for ${name} has ${added.length} floats, expected ${seqLen * rowFloats}`);
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
