import type { Engine, EngineKind, Stage, StageInput, StageOutput, StageSpec } from '../../shared/engine/engine.ts';
import type { LayerRange } from '../../shared/model/layer-range.ts';
import { RingmeshError } from '../../shared/errors.ts';
import type { SessionId } from '../../shared/ids.ts';
import type { EngineReply, EngineRequest, MessagePortLike } from './engine-messages.ts';

/** The engine Worker answered a request with an error; `remoteName` is the class name it had there. */
export class WorkerEngineError extends RingmeshError {
  constructor(
    readonly request: string,
    readonly remoteName: string,
    message: string,
  ) {
    super(`engine worker ${request}: ${remoteName}: ${message}`);
  }
}

type Pending = { resolve: (r: EngineReply) => void; reject: (e: Error) => void; what: string };
type RequestBody = EngineRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/**
 * Engine proxy for the page: the real engine (OrtWebEngine) runs in a Worker behind `port`
 * (serveEngine there), so inference never blocks the UI thread. Unit bytes are transferred to
 * the Worker: the caller's buffers are detached after loadStage.
 */
export class WorkerEngine implements Engine {
  kind: EngineKind = 'wasm';
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly port: MessagePortLike) {
    port.addEventListener('message', (event) => {
      const r = event.data as EngineReply;
      const p = this.pending.get(r.id);
      if (p === undefined) return;
      this.pending.delete(r.id);
      if (r.type === 'error') p.reject(new WorkerEngineError(p.what, r.name, r.message));
      else p.resolve(r);
    });
  }

  request(body: RequestBody, transfer: Transferable[] = []): Promise<EngineReply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, what: body.type });
      this.port.postMessage({ ...body, id }, transfer);
    });
  }

  async loadStage(spec: StageSpec): Promise<Stage> {
    const units = [...spec.units.entries()];
    const transfer = units.map(([, b]) => b.buffer as ArrayBuffer).filter((b, i, all) => all.indexOf(b) === i);
    const r = await this.request(
      { type: 'load', manifest: spec.manifest, range: spec.range, units, ...(spec.threads === undefined ? {} : { threads: spec.threads }) },
      transfer,
    );
    if (r.type !== 'loaded') throw new WorkerEngineError('load', 'ProtocolError', `unexpected reply ${r.type}`);
    spec.releaseUnits?.(); // the bytes went to the Worker: the caller's views are detached husks
    this.kind = r.kind as EngineKind;
    return new WorkerStage(this, r.stage, spec.range);
  }

  async dispose(): Promise<void> {
    await this.request({ type: 'dispose' });
  }
}

/** A stage living in the Worker; session lengths are mirrored here so `sessionLength` stays synchronous. */
class WorkerStage implements Stage {
  private readonly lengths = new Map<SessionId, number>();

  constructor(
    private readonly engine: WorkerEngine,
    private readonly handle: number,
    readonly range: LayerRange,
  ) {}

  async run(session: SessionId, input: StageInput): Promise<StageOutput> {
    const r = await this.engine.request({ type: 'run', stage: this.handle, session, input });
    if (r.type !== 'output') throw new WorkerEngineError('run', 'ProtocolError', `unexpected reply ${r.type}`);
    const seqLen = input.kind === 'tokens' ? input.ids.length : input.seqLen;
    this.lengths.set(session, this.sessionLength(session) + seqLen);
    return r.output;
  }

  sessionLength(session: SessionId): number {
    return this.lengths.get(session) ?? 0;
  }

  freeSession(session: SessionId): void {
    this.lengths.delete(session);
    // Fire and forget: freeing is synchronous in the Stage interface; a failure here only means
    // the worker already dropped the stage.
    void this.engine.request({ type: 'free', stage: this.handle, session }).catch(() => undefined);
  }

  async dispose(): Promise<void> {
    await this.engine.request({ type: 'dispose-stage', stage: this.handle });
  }
}
