// Stopping `node-peer start --api-port` (Ctrl-C or SIGTERM) while completions run: a stream ends
// with one `data: {"error": …}` event naming the shutdown (503 `server_shutting_down`), then
// `data: [DONE]`; a request that has not answered yet gets the 503 as JSON; the peer exits 0
// (docs/api.md, "Errors"). Real processes as README starts them; run inside a loopback-only namespace.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoModel } from '../../../node-peer/convert/demo-model.ts';
import { startPeerProcess, type PeerProcess } from '../../util/pieces-processes.ts';
import { freePort, startSignalingProcess, type SignalingProcess } from '../../util/signaling-process.ts';
import { makeTempDir } from '../../util/temp-dir.ts';

const MODEL = 'demo-4x256-seed5';
/** A context long enough that no generation ends on its own before the signal lands: the test stops each one. */
const CONTEXT = 4096;
/** Bounds each wait on a stream: a read that never comes fails the test, never hangs it. */
const READ_TIMEOUT_MS = 30_000;

const tmp = makeTempDir('api-shutdown');
let signaling: SignalingProcess;
let model: string;
let nextCache = 0;

const SHUTDOWN_ERROR = { type: 'service_unavailable', code: 'server_shutting_down', param: null, message: expect.stringMatching(/shutting down/) };

beforeAll(async () => {
  model = tmp.path('demo');
  await writeDemoModel(model, { layers: 4, hidden: 256, heads: 8, vocab: 512, context: CONTEXT, seed: 5 });
  signaling = await startSignalingProcess({ port: await freePort() });
});

afterAll(async () => {
  await signaling?.stop();
  tmp.cleanup();
});

/** `node-peer start --api-port 0` alone in its room, seeding the model; resolves with its API once its ring is ready. */
async function startApiPeer(): Promise<{ peer: PeerProcess; api: string }> {
  const flags = { signal: signaling.url, model, memory: '256MiB', 'api-port': '0', 'cache-dir': tmp.path(`cache-${nextCache++}`), threads: '1' };
  const peer = startPeerProcess(
    'api-peer',
    Object.entries(flags).flatMap(([k, v]) => [`--${k}`, v]),
  );
  const api = String((await peer.waitFor((e) => e.event === 'api', 60_000))['url']);
  await peer.waitFor((e) => e.event === 'ring-ready', 60_000);
  return { peer, api };
}

/** The `data:` payloads of a server-sent events body, in order, as they arrive. */
async function* sseData(res: Response): AsyncGenerator<string> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  try {
    for (;;) {
      const { done, value } = await withTimeout(reader.read(), 'the next SSE bytes');
      if (done) return;
      buffered += value;
      let end = buffered.indexOf('\n\n');
      while (end >= 0) {
        const event = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (event.startsWith('data: ')) yield event.slice('data: '.length);
        end = buffered.indexOf('\n\n');
      }
    }
  } finally {
    reader.releaseLock();
  }
}

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${READ_TIMEOUT_MS} ms`)), READ_TIMEOUT_MS)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

const post = (api: string, path: string, body: Record<string, unknown>): Promise<Response> =>
  fetch(`${api}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, temperature: 0, ...body }) });

/**
 * Opens a stream on `path`, sends `signal` to the peer once its first token arrived, and returns
 * every data payload after it, parsed (`[DONE]` as the string), with the peer's exit code.
 */
async function stopMidStream(path: string, body: Record<string, unknown>, signal: NodeJS.Signals, alsoOpen?: (api: string) => Promise<Response>) {
  const { peer, api } = await startApiPeer();
  try {
    const other = alsoOpen?.(api); // a non-streamed request, running when the signal lands
    const res = await post(api, path, { ...body, stream: true });
    expect(res.status).toBe(200);
    const after: unknown[] = [];
    let tokens = 0;
    for await (const data of sseData(res)) {
      if (tokens > 0) {
        after.push(data === '[DONE]' ? data : (JSON.parse(data) as unknown));
        continue;
      }
      const chunk = JSON.parse(data) as { choices: { text?: string; delta?: { content?: string } }[] };
      if ((chunk.choices[0]?.text ?? chunk.choices[0]?.delta?.content ?? '') === '') continue; // chat's role chunk
      tokens++;
      expect(await activeRequests(api)).toBe(other === undefined ? 1 : 2);
      peer.kill(signal);
    }
    return { after, code: await withTimeout(peer.exited, 'exit'), other: await other, stopping: peer.events.find((e) => e.event === 'stopping') };
  } finally {
    peer.kill('SIGKILL');
  }
}

const activeRequests = async (api: string): Promise<number> => ((await (await fetch(`${api}/status`)).json()) as { activeRequests: number }).activeRequests;

/** What follows the first token: more tokens (none with a finish_reason), then the error event, then `[DONE]`, then nothing. */
function expectShutdownEnd(after: unknown[]): void {
  expect(after.at(-1)).toBe('[DONE]');
  expect(after.at(-2)).toEqual({ error: SHUTDOWN_ERROR });
  for (const chunk of after.slice(0, -2)) {
    expect(chunk).toMatchObject({ choices: [{ finish_reason: null }] });
  }
}

describe('stopping node-peer start while completions run', () => {
  it('SIGINT mid-stream: /v1/chat/completions ends with the shutdown error event and [DONE]; an open non-streamed request gets a 503; exit 0', async () => {
    const run = await stopMidStream('/v1/chat/completions', { messages: [{ role: 'user', content: 'Tell me a story' }] }, 'SIGINT', (api) =>
      post(api, '/v1/completions', { prompt: 'Once upon a time' }),
    );
    expectShutdownEnd(run.after);
    expect(run.code).toBe(0);
    expect(run.stopping).toMatchObject({ signal: 'SIGINT', openRequests: 2 });
    expect(run.other?.status).toBe(503);
    expect(await run.other?.json()).toEqual({ error: SHUTDOWN_ERROR });
  });

  it('SIGTERM mid-stream: /v1/completions ends the same way; exit 0', async () => {
    const run = await stopMidStream('/v1/completions', { prompt: 'Once upon a time' }, 'SIGTERM');
    expectShutdownEnd(run.after);
    expect(run.code).toBe(0);
    expect(run.stopping).toMatchObject({ signal: 'SIGTERM', openRequests: 1 });
  });
});
