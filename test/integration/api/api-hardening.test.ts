// The API's defences over a real socket, backed by the demo model on onnxruntime-node
// (docs/api.md "Access" and "Limits"): body cap (413, on Content-Length and mid-chunked-body),
// prompt length checked before tokenizing, a bound on generations at once (429 + Retry-After),
// no CORS unless allowed (403), the Host check (421), the bearer key (401), request timeouts that
// spare long streams, and `node-peer start` refusing a non-loopback --api-host without a key.
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoModel } from '../../../node-peer/convert/demo-model.ts';
import { OrtNodeEngine } from '../../../node-peer/engine/ort-node-engine.ts';
import { startApiServer, type ApiServer } from '../../../node-peer/api/api-server.ts';
import { createChatRenderer } from '../../../shared/chat/chat-template.ts';
import { openLocalModel, type LocalModel } from '../../../node-peer/api/local-requester.ts';
import { createOpenAiHandler, type OpenAiHandlerOptions } from '../../../node-peer/api/openai-handler.ts';
import { MAX_CHARS_PER_TOKEN } from '../../../node-peer/api/prompt-bounds.ts';
import { rawRequest, type RawBody, type RawResponse } from '../../util/api-raw-request.ts';
import { makeTempDir } from '../../util/temp-dir.ts';

const tmp = makeTempDir('api-hardening');
const MODEL = 'demo-2x64-seed7';
const CONTEXT = 2048;
const MAX_BODY = 256 * 1024;
let model: LocalModel;
const servers: ApiServer[] = [];

beforeAll(async () => {
  await writeDemoModel(tmp.path('demo'), { layers: 2, hidden: 64, heads: 4, vocab: 512, context: CONTEXT, seed: 7 });
  model = await openLocalModel(tmp.path('demo'), new OrtNodeEngine({ device: 'cpu', threads: 1 }), 1);
});

afterAll(async () => {
  for (const s of servers) await s.close();
  await model?.close();
  tmp.cleanup();
});

async function serve(extra: Partial<OpenAiHandlerOptions> = {}, server: { maxBodyBytes?: number } = {}): Promise<ApiServer> {
  const handler = createOpenAiHandler({
    requester: model.requester,
    tokenizer: model.tokenizer,
    manifest: model.manifest,
    modelId: model.modelId,
    chat: createChatRenderer({ template: null }),
    ...extra,
  });
  const s = await startApiServer({ handler, port: 0, maxBodyBytes: server.maxBodyBytes ?? MAX_BODY });
  servers.push(s);
  return s;
}

type Raw = RawResponse;
const raw = (s: ApiServer, method: string, path: string, headers: Record<string, string>, body?: RawBody): Promise<Raw> =>
  rawRequest(s.port, method, path, headers, body);

const json = { 'content-type': 'application/json' };
const completion = (extra: Record<string, unknown> = {}): string => JSON.stringify({ model: MODEL, prompt: 'Once', max_tokens: 4, temperature: 0, ...extra });

async function expectOk(s: ApiServer, headers: Record<string, string> = {}): Promise<void> {
  const res = await fetch(`${s.url}/v1/completions`, { method: 'POST', headers: { ...json, ...headers }, body: completion() });
  expect(res.status).toBe(200);
  expect(((await res.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(4);
}

function errorOf(r: Raw): { type: string; code: string | null; param: string | null } {
  return (JSON.parse(r.body) as { error: { type: string; code: string | null; param: string | null } }).error;
}

describe('request bodies are capped', () => {
  it('413 on an oversized Content-Length, before reading; the server answers the next request', async () => {
    const s = await serve();
    const r = await raw(s, 'POST', '/v1/completions', json, { bytes: 16 * MAX_BODY, chunked: false });
    expect(r.status).toBe(413);
    expect(errorOf(r)).toMatchObject({ type: 'invalid_request_error', code: 'request_too_large' });
    await expectOk(s);
  });

  it('413 when a chunked body crosses the cap; the server answers the next request', async () => {
    const s = await serve();
    const r = await raw(s, 'POST', '/v1/chat/completions', json, { bytes: 64 * MAX_BODY, chunked: true });
    expect(r.status).toBe(413);
    expect(errorOf(r)).toMatchObject({ type: 'invalid_request_error', code: 'request_too_large' });
    expect(s.openRequests).toBe(0);
    await expectOk(s);
    // A body under the cap still goes through (the cap is on size, not on chunking).
    const under = await raw(s, 'POST', '/v1/completions', json, { bytes: MAX_BODY - 1, chunked: true });
    expect(under.status).toBe(400); // spaces only: not JSON
    expect(errorOf(under).code).toBe('invalid_json');
  });
});

describe('prompt length is checked before tokenizing', () => {
  it('400 context_length_exceeded naming prompt or messages', async () => {
    const s = await serve({}, { maxBodyBytes: 4 * 1024 * 1024 });
    const text = 'x'.repeat(CONTEXT * MAX_CHARS_PER_TOKEN + 1);
    const started = Date.now();
    const prompt = await fetch(`${s.url}/v1/completions`, { method: 'POST', headers: json, body: completion({ prompt: text }) });
    expect(prompt.status).toBe(400);
    expect(((await prompt.json()) as { error: unknown }).error).toMatchObject({ param: 'prompt', code: 'context_length_exceeded' });
    const chat = await fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: text }] }),
    });
    expect(chat.status).toBe(400);
    expect(((await chat.json()) as { error: unknown }).error).toMatchObject({ param: 'messages', code: 'context_length_exceeded' });
    const ids = await fetch(`${s.url}/v1/completions`, { method: 'POST', headers: json, body: completion({ prompt: new Array<number>(CONTEXT).fill(1) }) });
    expect(((await ids.json()) as { error: unknown }).error).toMatchObject({ param: 'prompt', code: 'context_length_exceeded' });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('generations at once are bounded', () => {
  it('past --api-max-concurrent: 429 with Retry-After at once; a freed slot serves again', async () => {
    const s = await serve({ maxConcurrent: 2 });
    const aborts = [new AbortController(), new AbortController()];
    const held = await Promise.all(
      aborts.map(async (a) => {
        const res = await fetch(`${s.url}/v1/completions`, {
          method: 'POST',
          headers: json,
          body: completion({ max_tokens: 2000, stream: true }),
          signal: a.signal,
        });
        expect(res.status).toBe(200);
        const reader = res.body!.getReader();
        await reader.read();
        return reader;
      }),
    );
    // Both streams are open (each reader has had a first event and nothing ended them).
    const refused = await fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as { error: unknown }).error).toMatchObject({ type: 'requests', code: 'rate_limit_exceeded' });
    for (const a of aborts) a.abort();
    for (const r of held) await r.closed.catch(() => undefined);
    const deadline = Date.now() + 10_000;
    let active = 2;
    while (active !== 0 && Date.now() < deadline) {
      active = ((await (await fetch(`${s.url}/status`)).json()) as { activeRequests: number }).activeRequests;
      if (active !== 0) await new Promise((r) => setTimeout(r, 50));
    }
    expect(active).toBe(0);
    await expectOk(s);
  });
});

describe('who may call', () => {
  it('no CORS by default: a request with any Origin gets 403 and no CORS headers', async () => {
    const s = await serve();
    const r = await raw(s, 'POST', '/v1/completions', { ...json, origin: 'https://attacker.example' }, { bytes: 2, chunked: false });
    expect(r.status).toBe(403);
    expect(r.headers['access-control-allow-origin']).toBeUndefined();
    expect(errorOf(r)).toMatchObject({ type: 'permission_error', code: 'origin_not_allowed' });
    const pre = await raw(s, 'OPTIONS', '/v1/completions', { origin: 'https://attacker.example', 'access-control-request-method': 'POST' });
    expect(pre.status).toBe(403);
    expect(pre.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('--cors-origin: that origin gets CORS headers and preflights; another gets 403', async () => {
    const s = await serve({ corsOrigins: ['http://localhost:5173'] });
    const pre = await raw(s, 'OPTIONS', '/v1/completions', { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' });
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    const ok = await fetch(`${s.url}/v1/completions`, { method: 'POST', headers: { ...json, origin: 'http://localhost:5173' }, body: completion() });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect((await raw(s, 'GET', '/v1/models', { origin: 'http://localhost:5174' })).status).toBe(403);
  });

  it('a foreign Host (DNS rebinding) gets 421; loopback names and --api-public-host pass', async () => {
    const s = await serve({ publicHosts: ['llm.example.org'] });
    const r = await raw(s, 'GET', '/v1/models', { host: `rebound.attacker.example:${s.port}` });
    expect(r.status).toBe(421);
    expect(errorOf(r).code).toBe('misdirected_host');
    expect((await raw(s, 'POST', '/v1/completions', { ...json, host: 'attacker.example' }, { bytes: 2, chunked: false })).status).toBe(421);
    for (const host of [`127.0.0.1:${s.port}`, `localhost:${s.port}`, `[::1]:${s.port}`, 'llm.example.org']) {
      expect((await raw(s, 'GET', '/v1/models', { host })).status).toBe(200);
    }
  });

  it('with a key: every endpoint answers 401 without it or with a wrong one, 200 with it', async () => {
    const s = await serve({ apiKey: 'sk-hardening' });
    for (const path of ['/v1/models', '/status', '/healthz']) {
      for (const headers of [{}, { authorization: 'Bearer sk-wrong' }, { authorization: 'Bearer sk-hardening2' }, { authorization: 'sk-hardening' }] as Record<
        string,
        string
      >[]) {
        const r = await raw(s, 'GET', path, headers);
        expect(r.status).toBe(401);
        expect(errorOf(r)).toMatchObject({ type: 'authentication_error', code: 'invalid_api_key' });
      }
      expect((await raw(s, 'GET', path, { authorization: 'Bearer sk-hardening' })).status).toBe(200);
    }
    const post = await raw(s, 'POST', '/v1/completions', json, { bytes: 2, chunked: false });
    expect(post.status).toBe(401);
    await expectOk(s, { authorization: 'Bearer sk-hardening' });
  });
});

describe('timeouts', () => {
  it('slow headers are cut; a stream outlives the body timeout', async () => {
    let ticks = 0;
    const slow = new ReadableStream<Uint8Array>({
      async pull(c) {
        await new Promise((r) => setTimeout(r, 100));
        if (++ticks > 15) c.close();
        else c.enqueue(new TextEncoder().encode(`data: ${ticks}\n\n`));
      },
    });
    const s = await startApiServer({
      handler: async () => new Response(slow, { headers: { 'content-type': 'text/event-stream' } }),
      port: 0,
      timeouts: { headersMs: 300, requestMs: 500, checkIntervalMs: 50 },
    });
    servers.push(s);
    const started = Date.now();
    const res = await fetch(`${s.url}/stream`, { method: 'POST', body: '{}' });
    expect(await res.text()).toContain('data: 15');
    expect(Date.now() - started).toBeGreaterThan(1000); // twice the body timeout, and the stream lived

    const sock = connect(s.port, '127.0.0.1');
    sock.write('GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n'); // and never the blank line
    let answer = '';
    sock.on('data', (d: Buffer) => (answer += d.toString()));
    const cut = Date.now();
    await new Promise((r) => sock.once('close', r));
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(Date.now() - cut).toBeLessThan(3000);
  });
});

describe('node-peer start', () => {
  const BIN = join(import.meta.dirname, '../../../bin/node-peer.js');
  const cli = (args: string[], env: Record<string, string> = {}): Promise<{ code: number; stderr: string }> => {
    const { RINGMESH_API_KEY: _none, RINGMESH_API_HOST: _host, ...inherited } = process.env;
    return promisify(execFile)(process.execPath, [BIN, ...args], { env: { ...inherited, ...env }, timeout: 60_000 }).then(
      ({ stderr }) => ({ code: 0, stderr }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
  };
  const base = ['start', '--signal', 'ws://127.0.0.1:1/signal', '--model', 'a'.repeat(64), '--api-port', '0'];

  it('a non-loopback --api-host without --api-key: usage error, exit 2', async () => {
    for (const host of ['0.0.0.0', '192.0.2.5', '::']) {
      const r = await cli([...base, '--api-host', host]);
      expect(r.stderr).toMatch(/--api-host .* is not loopback: it needs --api-key/);
      expect(r.code).toBe(2);
    }
    // Loopback needs none; a key from RINGMESH_API_KEY satisfies it: both get as far as the signaling probe (exit 4).
    expect((await cli([...base, '--api-host', 'localhost'])).code).toBe(4);
    expect((await cli([...base, '--api-host', '0.0.0.0'], { RINGMESH_API_KEY: 'sk-env' })).code).toBe(4);
  });
});
