import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { convertLlama2c } from '../../../node-peer/convert/convert-llama2c.ts';
import { localGenerate } from '../../../node-peer/engine/local-generate.ts';
import type { MessagePortLike } from '../../../web-peer/engine/engine-messages.ts';
import { OrtWebEngine } from '../../../shared/engine/ort-web-engine.ts';
import { serveEngine } from '../../../web-peer/engine/serve-engine.ts';
import { WorkerEngine, WorkerEngineError } from '../../../web-peer/engine/worker-engine.ts';
import { argmax } from '../../util/engine-fixtures.ts';
import { goldenCases, MODELS_DIR } from '../../util/models.ts';

// The page's engine proxy and the Worker's server, connected by a real MessageChannel (structured
// clone and transfer included) instead of a Worker, running a golden case end to end.
const work = mkdtempSync(join(tmpdir(), 'ringmesh-worker-engine-'));
const channel = new MessageChannel();
afterAll(() => {
  channel.port1.close();
  channel.port2.close();
  rmSync(work, { recursive: true, force: true });
});

describe('WorkerEngine ↔ serveEngine(OrtWebEngine)', () => {
  it('reproduces the run.c golden ids over postMessage, split in two', async () => {
    const c = goldenCases()[2];
    if (c === undefined) throw new Error('golden case 2 missing');
    const dir = join(work, 'stories');
    await convertLlama2c(join(MODELS_DIR, c.model), join(MODELS_DIR, c.tokenizer), dir);
    serveEngine(channel.port2 as unknown as MessagePortLike, new OrtWebEngine({ backend: 'wasm' }));
    channel.port2.start();
    const engine = new WorkerEngine(channel.port1 as unknown as MessagePortLike);
    channel.port1.start();
    const result = await localGenerate({ modelDir: dir, prompt: c.prompt, engine, pick: argmax, split: '2,3', steps: c.steps });
    expect(engine.kind).toBe('wasm');
    expect(result.generatedIds).toEqual(c.generated_ids);
    await expect(engine.request({ type: 'run', stage: 999, session: 's', input: { kind: 'tokens', ids: Int32Array.of(1) } })).rejects.toThrow(
      WorkerEngineError,
    );
    await engine.dispose();
  });
});
