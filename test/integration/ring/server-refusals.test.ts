import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertLlama2c } from '../../../node-peer/convert/convert-llama2c.ts';
import { startNodePeer, type NodePeer } from '../../../node-peer/peer/node-peer-runtime.ts';
import { createRingPlanHook, REPLAN_REPORT_KINDS } from '../../../signaling/plan-hook.ts';
import { createSignalingServer, type SignalingServer } from '../../../signaling/server.ts';
import { goldenCases, MODELS_DIR } from '../../util/models.ts';
import { makeTempDir } from '../../util/temp-dir.ts';

// A peer whose model report the server refuses (here: the operator assigned the room another model)
// says so through its events — the error the server sent, by code — instead of silently never
// getting a plan.
const tmp = makeTempDir('server-refusals');
const c = goldenCases().find((k) => k.model === 'stories260K.bin')!;
let server: SignalingServer;
let peer: NodePeer | undefined;
let modelDir: string;
let modelId: string;

beforeAll(async () => {
  modelDir = tmp.path('model');
  ({ modelId } = await convertLlama2c(join(MODELS_DIR, c.model), join(MODELS_DIR, c.tokenizer), modelDir, { pieceSize: 64 * 1024 }));
  const roomModels = new Map([[modelId, 'f'.repeat(64)]]);
  server = await createSignalingServer({ port: 0, roomModels, plan: createRingPlanHook({ roomModels }), replanOnReports: REPLAN_REPORT_KINDS });
});

afterAll(async () => {
  await peer?.close();
  await server.close();
  tmp.cleanup();
});

describe('server refusals reach the peer', () => {
  it('a refused model report comes out as an error event naming model-refused', async () => {
    const events: { event: string; message?: string }[] = [];
    peer = await startNodePeer({
      signalUrl: server.url,
      model: modelDir,
      memoryBytes: 2 ** 30,
      cacheDir: tmp.path('cache'),
      bindAddress: '127.0.0.1',
      onEvent: (e) => events.push(e as { event: string; message?: string }),
    });
    await expect.poll(() => events.find((e) => e.event === 'error' && e.message?.includes('model-refused')), { timeout: 20_000 }).toBeDefined();
    expect(peer.status().planEpoch).toBeNull();
  });
});
