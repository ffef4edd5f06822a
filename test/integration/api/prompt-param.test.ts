// A prompt the model's stages refuse as longer than their context (here: stages whose context is
// shorter than the one the handler was told) is reported naming the request's own field:
// `prompt` for /v1/completions, `messages` for /v1/chat/completions. Real engine, no socket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoModel } from '../../../node-peer/convert/demo-model.ts';
import { createStagesRequester } from '../../../node-peer/api/local-requester.ts';
import { createOpenAiHandler, type ApiHandler } from '../../../node-peer/api/openai-handler.ts';
import { loadChain } from '../../../node-peer/engine/load-chain.ts';
import { OrtNodeEngine } from '../../../node-peer/engine/ort-node-engine.ts';
import { openModelPackage } from '../../../node-peer/model/open-model-package.ts';
import { createChatRenderer } from '../../../shared/chat/chat-template.ts';
import type { Stage } from '../../../shared/engine/engine.ts';
import { asPeerId } from '../../../shared/ids.ts';
import { createTokenizer } from '../../../shared/tokenizer/create-tokenizer.ts';
import { makeTempDir } from '../../util/temp-dir.ts';

const tmp = makeTempDir('prompt-param');
const CONTEXT = 64; // the stages' context; the handler is told 16× more, so its own checks pass
let stages: readonly Stage[] = [];
let handler: ApiHandler;
let name = '';

beforeAll(async () => {
  await writeDemoModel(tmp.path('demo'), { layers: 2, hidden: 64, heads: 4, vocab: 512, context: CONTEXT, seed: 5 });
  const pkg = await openModelPackage(tmp.path('demo'));
  const arch = pkg.manifest.architecture;
  stages = await loadChain(new OrtNodeEngine({ device: 'cpu', threads: 1 }), pkg, [{ start: 0, end: arch.numLayers }], 1);
  const manifest = { ...pkg.manifest, architecture: { ...arch, contextLength: CONTEXT * 16 } };
  name = manifest.name;
  handler = createOpenAiHandler({
    requester: createStagesRequester(asPeerId('local'), stages, manifest.architecture.contextLength),
    tokenizer: createTokenizer(pkg.manifest.tokenizer, await pkg.readTokenizer(), arch.vocabSize),
    manifest,
    modelId: pkg.modelId,
    chat: createChatRenderer({ template: null }),
  });
});

afterAll(async () => {
  for (const s of stages) await s.dispose();
  tmp.cleanup();
});

const post = (path: string, body: unknown): Promise<Response> =>
  handler(
    new Request(`http://127.0.0.1${path}`, { method: 'POST', headers: { 'content-type': 'application/json', host: '127.0.0.1' }, body: JSON.stringify(body) }),
  );

const tooLong = Array.from({ length: CONTEXT * 2 }, (_, i) => 1 + (i % 200));

describe('context_length_exceeded from the stages', () => {
  for (const stream of [false, true]) {
    it(`/v1/completions names prompt${stream ? ' (streaming)' : ''}`, async () => {
      const res = await post('/v1/completions', { model: name, prompt: tooLong, max_tokens: 4, stream });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: unknown }).error).toMatchObject({
        type: 'invalid_request_error',
        param: 'prompt',
        code: 'context_length_exceeded',
      });
    });
  }

  it('/v1/chat/completions names messages', async () => {
    const res = await post('/v1/chat/completions', { model: name, messages: [{ role: 'user', content: 'x '.repeat(CONTEXT * 2) }], max_tokens: 4 });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: unknown }).error).toMatchObject({ param: 'messages', code: 'context_length_exceeded' });
  });
});
