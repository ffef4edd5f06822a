import type { Engine, Stage } from '../../shared/engine/engine.ts';
import { RingmeshError } from '../../shared/errors.ts';
import { asSessionId } from '../../shared/ids.ts';
import type { EngineReply, EngineRequest, MessagePortLike } from './engine-messages.ts';

/** A request named a stage handle this worker never loaded or already disposed. */
export class UnknownStageHandleError extends RingmeshError {
  constructor(readonly handle: number) {
    super(`no stage ${handle} in this worker`);
  }
}

/**
 * The Worker side: runs `engine` for requests arriving on `port` (see WorkerEngine for the page
 * side). Output buffers are transferred back, not copied.
 */
export function serveEngine(port: MessagePortLike, engine: Engine): void {
  const stages = new Map<number, Stage>();
  let nextStage = 1;
  const reply = (r: EngineReply, transfer: Transferable[] = []): void => port.postMessage(r, transfer);

  const handle = async (req: EngineRequest): Promise<void> => {
    switch (req.type) {
      case 'load': {
        const stage = await engine.loadStage({
          manifest: req.manifest,
          range: req.range,
          units: new Map(req.units),
          ...(req.threads === undefined ? {} : { threads: req.threads }),
        });
        const handleId = nextStage++;
        stages.set(handleId, stage);
        reply({ type: 'loaded', id: req.id, stage: handleId, kind: engine.kind });
        return;
      }
      case 'run': {
        const output = await stageOf(req.stage).run(asSessionId(req.session), req.input);
        // Transfer only a buffer the output owns whole; a view into a larger one is copied.
        const data = output.data;
        const owned = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
        reply({ type: 'output', id: req.id, output }, owned ? [data.buffer as ArrayBuffer] : []);
        return;
      }
      case 'free':
        stageOf(req.stage).freeSession(asSessionId(req.session));
        reply({ type: 'done', id: req.id });
        return;
      case 'dispose-stage':
        await stages.get(req.stage)?.dispose();
        stages.delete(req.stage);
        reply({ type: 'done', id: req.id });
        return;
      case 'dispose':
        await engine.dispose();
        stages.clear();
        reply({ type: 'done', id: req.id });
        return;
    }
  };

  const stageOf = (handleId: number): Stage => {
    const s = stages.get(handleId);
    if (s === undefined) throw new UnknownStageHandleError(handleId);
    return s;
  };

  port.addEventListener('message', (event) => {
    const req = event.data as EngineRequest;
    // The Worker boundary is an edge: every failure becomes an error reply for the waiting caller.
    handle(req).catch((err: unknown) => {
      // A thrown non-Error (a string, from a dependency) travels as its text.
      const { name, message } = err instanceof Error ? err : { name: 'Error', message: String(err) };
      reply({ type: 'error', id: req.id, name, message });
    });
  });
}
