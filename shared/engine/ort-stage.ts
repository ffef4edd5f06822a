import type { SessionId } from '../ids.ts';
import type { StageGraph } from '../graph/build-stage-graph.ts';
import { causalMask, ropeTables } from '../graph/rope.ts';
import { StageIo } from '../graph/stage-io.ts';
import type { ModelManifest } from '../model/manifest.ts';
import type { Stage, StageInput, StageOutput } from './engine.ts';
import type { LayerRange } from '../model/layer-range.ts';
import { EngineRuntimeError } from './errors.ts';
import { checkStageInput } from './stage-input.ts';
import type { CreateOrtTensor, OrtSessionLike, OrtTensorLike } from './ort-like.ts';
import { inputRows, packedMask, runPacked, takeBatch, type StageRequest } from './ort-packed-run.ts';
import { allocKvRows, appendRows, kvData, kvTensor, outputTensor, rowFloatsOf, sessionKvBytes, stateOf } from './ort-session-cache.ts';
import type { OrtStageParts, SessionState } from './ort-session-cache.ts';
import { RunTiming, type RunTimingSnapshot } from './run-timing.ts';
import { createSerialQueue, type SerialQueue } from './serial-queue.ts';

interface Pending extends StageRequest {
  resolve(out: StageOutput): void;
  reject(err: unknown): void;
}

/**
 * A Stage over one ONNX Runtime session of a stage graph (either runtime). Holds the KV caches of
 * each ring session (ort-session-cache.ts) and builds the per-run feeds (RoPE tables, causal
 * mask, past caches); requests of several sessions that wait together run packed (ort-packed-run.ts).
 * Runs are serialised: one ORT session is not re-entrant on every backend.
 */
export class OrtStage implements Stage {
  private readonly sessions = new Map<SessionId, SessionState>();
  private readonly label: string;
  private readonly parts: OrtStageParts;
  private disposed = false;
  private readonly pending: Pending[] = [];
  private drainScheduled = false;
  /** ORT runs made, and how many of them packed several sessions (how many in all). */
  readonly runStats = { runs: 0, packedRuns: 0, packedSessions: 0 };
  private readonly timing = new RunTiming();

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
    this.parts = { label: this.label, manifest, graph, session, createTensor, sessions: this.sessions };
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
        await this.runBatch(takeBatch(this.pending, this.graph.kvCache === 'append'));
      } finally {
        this.scheduleDrain();
      }
    });
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
    const started = performance.now();
    // Decode steps only: a prefill (and the warm-up, a session's first position) costs otherwise.
    const decodeOnly = ok.every((p) => inputRows(p.input) === 1 && this.sessionLength(p.session) > 0);
    if (ok.length === 1) {
      const p = ok[0] as Pending;
      await this.runNow(p.session, p.input).then((out) => {
        if (decodeOnly) this.timing.record(1, performance.now() - started);
        p.resolve(out);
      }, p.reject);
    } else if (ok.length > 1) {
      this.runStats.packedRuns++;
      this.runStats.packedSessions += ok.length;
      try {
        const outs = await runPacked(this.parts, ok);
        if (decodeOnly) this.timing.record(ok.length, performance.now() - started);
        ok.forEach((p, i) => p.resolve(outs[i] as StageOutput));
      } catch (err) {
        for (const p of ok) p.reject(err);
      }
    }
  }

  runTiming(): RunTimingSnapshot {
    const t = this.timing.snapshot();
    // A graph that cannot pack runs each session alone: one more costs a whole run.
    return this.graph.kvCache === 'append' || t.decodeMs === undefined ? t : { ...t, extraRowMs: t.decodeMs };
  }

  sessionLength(session: SessionId): number {
    return this.sessions.get(session)?.length ?? 0;
  }

  /** Bytes the session's KV cache holds (0 for an unknown session); halved by an fp16 `kvDtype`. */
  sessionKvBytes(session: SessionId): number {
    const state = this.sessions.get(session);
    return state === undefined ? 0 : sessionKvBytes(this.parts, state);
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
    return checkStageInput(this.label, this.manifest, this.graph.input === StageIo.inputIds, id, input, this.sessions.get(id)?.length ?? 0);
  }

  private async runNow(id: SessionId, input: StageInput): Promise<StageOutput> {
    const a = this.manifest.architecture;
    const seqLen = this.checkInput(id, input);
    const state = stateOf(this.parts, id);
    const main = input.kind === 'tokens' ? this.createTensor('int32', input.ids, [seqLen]) : this.createTensor('float32', input.data, [seqLen, a.hiddenSize]);

    const { cos, sin } = ropeTables(this.graph.invFreq, state.length, seqLen);
    const feeds: Record<string, OrtTensorLike> = {
      [this.graph.input]: main,
      [StageIo.ropeCos]: this.createTensor('float32', cos, [seqLen, a.headDim]),
      [StageIo.ropeSin]: this.createTensor('float32', sin, [seqLen, a.headDim]),
    };
    if (this.graph.output === StageIo.logits) feeds[StageIo.logitRows] = this.createTensor('int32', new Int32Array([seqLen - 1]), [1]);
    const append = this.graph.kvCache === 'append';
    const rowFloats = rowFloatsOf(this.manifest);
    if (append && state.length === 0) {
      // No past yet: one zero row, hidden by the mask ('append' graphs take no empty past).
      const filler = kvTensor(this.parts, allocKvRows(this.graph, rowFloats), [1, a.numKvHeads, a.headDim]);
      feeds[StageIo.attnMask] = this.createTensor('float32', packedMask([{ past: 0, rows: seqLen }]), [seqLen, 1 + seqLen]);
      for (const layer of this.graph.layers) {
        feeds[StageIo.pastKey(layer)] = filler;
        feeds[StageIo.pastValue(layer)] = filler;
      }
    } else {
      feeds[StageIo.attnMask] = this.createTensor('float32', causalMask(state.length, seqLen), [seqLen, state.length + seqLen]);
      const empty = append ? undefined : kvTensor(this.parts, allocKvRows(this.graph, 0), [a.numKvHeads, 0, a.headDim]);
      for (const layer of this.graph.layers) {
        for (const name of [StageIo.pastKey(layer), StageIo.pastValue(layer)]) {
          const rows = state.rows.get(name);
          if (!append) feeds[name] = state.past.get(name) ?? (empty as OrtTensorLike);
          else if (rows === undefined) throw new EngineRuntimeError(this.label, `session ${id} has no cached ${name}`);
          else feeds[name] = kvTensor(this.parts, rows.subarray(0, state.length * rowFloats), [state.length, a.numKvHeads, a.headDim]);
        }
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
        appendRows(this.parts, state, StageIo.pastKey(layer), kvData(this.parts, outputTensor(this.parts, out, StageIo.newKey(layer))), seqLen);
        appendRows(this.parts, state, StageIo.pastValue(layer), kvData(this.parts, outputTensor(this.parts, out, StageIo.newValue(layer))), seqLen);
      }
    } else {
      const next = new Map<string, OrtTensorLike>();
      for (const layer of this.graph.layers) {
        next.set(StageIo.pastKey(layer), outputTensor(this.parts, out, StageIo.presentKey(layer)));
        next.set(StageIo.pastValue(layer), outputTensor(this.parts, out, StageIo.presentValue(layer)));
      }
      for (const t of state.past.values()) t.dispose?.();
      state.past = next;
    }
    state.length += seqLen;
    this.sessions.set(id, state);

    const data = outputTensor(this.parts, out, this.graph.output).data as Float32Array;
    if (this.graph.output !== StageIo.logits) return { kind: 'hidden', data, seqLen };
    return { kind: 'logits', data, logSumExp: (outputTensor(this.parts, out, StageIo.logSumExp).data as Float32Array)[0] as number };
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
