// A hostile API client against a real `node-peer start --api-port` process (started as README does,
// alone in its room, seeding the demo model): a 160 MiB body (with a Content-Length and chunked)
// and 200 concurrent streamed completions. The peer must live, its RSS must grow less than
// RSS_GROWTH_BOUND, the attacker must be refused (413, 429 with Retry-After), and an honest
// request afterwards must complete. Run inside a loopback-only namespace.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoModel } from '../../node-peer/convert/demo-model.ts';
import { rawRequest } from '../util/api-raw-request.ts';
import { startPeerProcess, type PeerProcess } from '../util/pieces-processes.ts';
import { freePort, startSignalingProcess, type SignalingProcess } from '../util/signaling-process.ts';
import { makeTempDir } from '../util/temp-dir.ts';

/** Growth of the peer's resident memory over the whole attack; before the limits, 200 streams alone grew it by 1.5 GB. */
const RSS_GROWTH_BOUND = 200 * 1024 * 1024;
const ATTACK_BODY = 160 * 1024 * 1024;
const STREAMS = 200;
/** The default --api-max-concurrent. */
const MAX_CONCURRENT = 8;
const MODEL = 'demo-2x64-seed3';

const tmp = makeTempDir('api-abuse');
let signaling: SignalingProcess;
let peer: PeerProcess;
let api: string;
let port: number;

/** VmRSS of `pid` in bytes, from /proc. */
function rss(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

const json = { 'content-type': 'application/json' };

async function honest(): Promise<void> {
  const res = await fetch(`${api}/v1/chat/completions`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 8, temperature: 0 }),
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { usage: { completion_tokens: number }; choices: { finish_reason: string }[] };
  expect(body.usage.completion_tokens).toBeGreaterThan(0);
}

const activeRequests = async (): Promise<number> => ((await (await fetch(`${api}/status`)).json()) as { activeRequests: number }).activeRequests;

beforeAll(async () => {
  const model = tmp.path('demo');
  await writeDemoModel(model, { layers: 2, hidden: 64, heads: 4, vocab: 512, context: 2048, seed: 3 });
  signaling = await startSignalingProcess({ port: await freePort() });
  peer = startPeerProcess('api-peer', [
    '--signal',
    signaling.url,
    '--model',
    model,
    '--memory',
    '64MiB',
    '--api-port',
    '0',
    '--cache-dir',
    tmp.path('cache'),
    '--threads',
    '1',
  ]);
  api = String((await peer.waitFor((e) => e.event === 'api', 60_000))['url']);
  port = Number(new URL(api).port);
  await peer.waitFor((e) => e.event === 'ring-ready', 60_000);
});

afterAll(async () => {
  peer?.kill('SIGKILL');
  await signaling?.stop();
  tmp.cleanup();
});

describe('a hostile API client', () => {
  it('160 MiB bodies and 200 concurrent streams: refused, the peer lives, RSS bounded, honest requests served', async () => {
    const pid = peer.child.pid!;
    for (let i = 0; i < 3; i++) await honest(); // warm: the engine and the request path have run
    const baseline = rss(pid);
    let peak = baseline;
    let peakActive = 0;
    const sampler = setInterval(() => {
      if (peer.child.exitCode === null) peak = Math.max(peak, rss(pid));
    }, 50);
    try {
      // 160 MiB with a Content-Length: refused before a byte of it is read.
      const declared = await rawRequest(port, 'POST', '/v1/chat/completions', json, { bytes: ATTACK_BODY, chunked: false });
      expect(declared.status).toBe(413);
      expect(JSON.parse(declared.body)).toMatchObject({ error: { code: 'request_too_large' } });
      // 160 MiB chunked: reading stops at the 4 MiB cap.
      const chunked = await rawRequest(port, 'POST', '/v1/completions', json, { bytes: ATTACK_BODY, chunked: true });
      expect(chunked.status).toBe(413);
      await honest();

      // 200 streams at once, none read: at most MAX_CONCURRENT are taken, the rest refused at once.
      const aborts = Array.from({ length: STREAMS }, () => new AbortController());
      const body = JSON.stringify({ model: MODEL, prompt: 'Once upon a time', max_tokens: 2000, temperature: 0, stream: true });
      const responses = await Promise.all(aborts.map((a) => fetch(`${api}/v1/completions`, { method: 'POST', headers: json, body, signal: a.signal })));
      peakActive = await activeRequests();
      const accepted = responses.filter((r) => r.status === 200);
      const refused = responses.filter((r) => r.status === 429);
      expect(accepted.length + refused.length).toBe(STREAMS);
      expect(accepted.length).toBeGreaterThan(0);
      expect(accepted.length).toBeLessThanOrEqual(MAX_CONCURRENT);
      expect(peakActive).toBeLessThanOrEqual(MAX_CONCURRENT);
      for (const r of refused) expect(r.headers.get('retry-after')).toBe('1');
      expect(((await refused[0]!.json()) as { error: unknown }).error).toMatchObject({ code: 'rate_limit_exceeded' });
      for (const r of refused.slice(1)) await r.body?.cancel();
      for (const a of aborts) a.abort();
      const deadline = Date.now() + 20_000;
      let active = await activeRequests();
      while (active !== 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        active = await activeRequests();
      }
      expect(active).toBe(0);
      await honest();
    } finally {
      clearInterval(sampler);
    }
    expect(peer.child.exitCode).toBeNull();
    const growth = peak - baseline;
    process.stdout.write(
      `api-abuse: RSS baseline ${(baseline / 2 ** 20).toFixed(0)} MiB, peak ${(peak / 2 ** 20).toFixed(0)} MiB, growth ${(growth / 2 ** 20).toFixed(0)} MiB (bound ${RSS_GROWTH_BOUND / 2 ** 20} MiB); active at the burst ${peakActive}\n`,
    );
    expect(growth).toBeLessThan(RSS_GROWTH_BOUND);
  });
});
