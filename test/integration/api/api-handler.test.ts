// The OpenAI-compatible API in process, over a real socket, backed by a real Requester: the whole
// demo model on onnxruntime-node (node-peer/api/local-requester.ts). No mocks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoModel } from '../../../node-peer/convert/demo-model.ts';
import { OrtNodeEngine } from '../../../node-peer/engine/ort-node-engine.ts';
import { startApiServer, type ApiServer } from '../../../node-peer/api/api-server.ts';
import { createChatRenderer } from '../../../shared/chat/chat-template.ts';
import { openLocalModel, type LocalModel } from '../../../node-peer/api/local-requester.ts';
import { createOpenAiHandler, type ApiHandler } from '../../../node-peer/api/openai-handler.ts';
import { makeTempDir } from '../../util/temp-dir.ts';

const tmp = makeTempDir('api-handler');
let model: LocalModel;
let server: ApiServer;
let handler: ApiHandler;
const MODEL = 'demo-2x64-seed7';

beforeAll(async () => {
  await writeDemoModel(tmp.path('demo'), { layers: 2, hidden: 64, heads: 4, vocab: 512, context: 2048, seed: 7 });
  model = await openLocalModel(tmp.path('demo'), new OrtNodeEngine({ device: 'cpu', threads: 1 }), 1);
  handler = createOpenAiHandler({
    requester: model.requester,
    tokenizer: model.tokenizer,
    manifest: model.manifest,
    modelId: model.modelId,
    chat: createChatRenderer({ template: null }),
  });
  server = await startApiServer({ handler, port: 0 });
});

afterAll(async () => {
  await server?.close();
  await model?.close();
  tmp.cleanup();
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
  fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

async function expectError(res: Response, status: number, type: string, param: string | null, code: string | null): Promise<ErrorBody> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  const body = (await res.json()) as ErrorBody;
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error).toMatchObject({ type, param, code });
  expect(body.error.message.length).toBeGreaterThan(10);
  return body;
}

interface ChatBody {
  choices: { message: { content: string }; finish_reason: string; token_ids: number[] }[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  prompt_token_ids: number[];
}

describe('OpenAI-compatible API (in process, real engine)', () => {
  it('lists the model', async () => {
    const res = await fetch(`${server.url}/v1/models`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      object: 'list',
      data: [{ id: MODEL, object: 'model', owned_by: 'ringmesh', ringmesh: { model_id: model.modelId } }],
    });
  });

  it("answers bad requests in OpenAI's error shape", async () => {
    await expectError(await post('/v1/chat/completions', '{not json'), 400, 'invalid_request_error', null, 'invalid_json');
    await expectError(await post('/v1/chat/completions', { model: MODEL }), 400, 'invalid_request_error', 'messages', 'invalid_value');
    await expectError(
      await post('/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'hi' }], temperature: 5 }),
      400,
      'invalid_request_error',
      'temperature',
      'invalid_value',
    );
    await expectError(
      await post('/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 0 }),
      400,
      'invalid_request_error',
      'max_tokens',
      'invalid_value',
    );
    await expectError(
      await post('/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'hi' }], n: 2 }),
      400,
      'invalid_request_error',
      'n',
      'invalid_value',
    );
    await expectError(
      await post('/v1/chat/completions', { model: MODEL, messages: [{ role: 'wizard', content: 'hi' }] }),
      400,
      'invalid_request_error',
      'messages.0.role',
      'invalid_value',
    );
    await expectError(await post('/v1/completions', { model: MODEL, prompt: [999999] }), 400, 'invalid_request_error', 'prompt', null);
    await expectError(
      await post('/v1/chat/completions', { model: 'gpt-9', messages: [{ role: 'user', content: 'hi' }] }),
      404,
      'not_found_error',
      'model',
      'model_not_found',
    );
    await expectError(await fetch(`${server.url}/v1/nope`), 404, 'not_found_error', null, 'unknown_url');
    await expectError(await fetch(`${server.url}/v1/completions`), 405, 'invalid_request_error', null, 'method_not_allowed');
    const long = 'x '.repeat(3000);
    await expectError(await post('/v1/completions', { model: MODEL, prompt: long }), 400, 'invalid_request_error', 'prompt', 'context_length_exceeded');
    await expectError(
      await post('/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: long }] }),
      400,
      'invalid_request_error',
      'messages',
      'context_length_exceeded',
    );
  });

  it('requires the API key when one is set', async () => {
    const keyed = createOpenAiHandler({
      requester: model.requester,
      tokenizer: model.tokenizer,
      manifest: model.manifest,
      modelId: model.modelId,
      chat: createChatRenderer({ template: null }),
      apiKey: 'sk-test',
    });
    await expectError(await keyed(new Request('http://x/v1/models')), 401, 'authentication_error', null, 'invalid_api_key');
    expect((await keyed(new Request('http://x/v1/models', { headers: { authorization: 'Bearer sk-test' } }))).status).toBe(200);
  });

  it('answers CORS preflights and marks responses for an allowed origin', async () => {
    const cors = createOpenAiHandler({
      requester: model.requester,
      tokenizer: model.tokenizer,
      manifest: model.manifest,
      modelId: model.modelId,
      chat: createChatRenderer({ template: null }),
      corsOrigins: ['http://example.test'],
    });
    const pre = await cors(
      new Request('http://localhost/v1/chat/completions', {
        method: 'OPTIONS',
        headers: { origin: 'http://example.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
      }),
    );
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('http://example.test');
    expect(pre.headers.get('access-control-allow-methods')).toContain('POST');
    expect(pre.headers.get('access-control-allow-headers')).toBe('content-type, authorization');
    const res = await cors(new Request('http://localhost/v1/models', { headers: { origin: 'http://example.test' } }));
    expect(res.headers.get('access-control-allow-origin')).toBe('http://example.test');
    const err = await cors(new Request('http://localhost/v1/chat/completions', { method: 'POST', body: '{', headers: { origin: 'http://example.test' } }));
    expect(err.status).toBe(400);
    expect(err.headers.get('access-control-allow-origin')).toBe('http://example.test');
    // Without --cors-origin a browser origin is refused (api-hardening.test.ts covers the rest).
    expect((await fetch(`${server.url}/v1/models`, { headers: { origin: 'http://example.test' } })).status).toBe(403);
  });

  it('cuts at a stop string (not included) and reports finish_reason stop', async () => {
    const req = { model: MODEL, messages: [{ role: 'user', content: 'Tell me a story' }], max_tokens: 24, temperature: 0, return_token_ids: true };
    const full = (await (await post('/v1/chat/completions', req)).json()) as ChatBody;
    const text = full.choices[0]!.message.content;
    expect(full.choices[0]!.finish_reason).toBe('length');
    expect(full.usage.completion_tokens).toBe(24);
    const stop = text.slice(5, 7);
    const cut = (await (await post('/v1/chat/completions', { ...req, stop: [stop, '\u0000never'] })).json()) as ChatBody;
    expect(cut.choices[0]!.message.content).toBe(text.slice(0, text.indexOf(stop)));
    expect(cut.choices[0]!.finish_reason).toBe('stop');
    expect(cut.usage.completion_tokens).toBeLessThan(24);
  });

  it('seeded sampling repeats; /v1/completions takes text or token ids', async () => {
    const sample = async (seed: number): Promise<string> => {
      const r = (await (await post('/v1/completions', { model: MODEL, prompt: 'Once', max_tokens: 12, temperature: 1, seed })).json()) as {
        choices: { text: string }[];
      };
      return r.choices[0]!.text;
    };
    expect(await sample(42)).toBe(await sample(42));
    const ids = model.tokenizer.encode('Once upon');
    const byText = (await (
      await post('/v1/completions', { model: MODEL, prompt: 'Once upon', max_tokens: 8, temperature: 0, return_token_ids: true })
    ).json()) as { prompt_token_ids: number[]; choices: { text: string; token_ids: number[] }[] };
    const byIds = (await (
      await post('/v1/completions', { model: MODEL, prompt: ids, max_tokens: 8, temperature: 0, return_token_ids: true })
    ).json()) as typeof byText;
    expect(byText.prompt_token_ids).toEqual(ids);
    expect(byIds.choices[0]).toEqual(byText.choices[0]);
  });

  it('cancels the generation when the client disconnects mid-stream', async () => {
    const abort = new AbortController();
    const res = await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, prompt: 'Once', max_tokens: 2000, temperature: 0, stream: true }),
      signal: abort.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    const status = async (): Promise<{ activeRequests: number; tokensServed: number }> =>
      (await (await fetch(`${server.url}/status`)).json()) as { activeRequests: number; tokensServed: number };
    expect((await status()).activeRequests).toBe(1);
    const before = (await status()).tokensServed;
    abort.abort();
    const deadline = Date.now() + 5000;
    let s = await status();
    while (s.activeRequests !== 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      s = await status();
    }
    expect(s.activeRequests).toBe(0);
    // It stopped early: far fewer than the 2000 tokens asked for were generated.
    expect(s.tokensServed - before).toBeLessThan(500);
  });
});
