// A peer joined by model id, as a new user starts one next to a seed: without --origin it gets the
// tokenizer from the seed and serves completions through its API (docs/pieces.md, "Tokenizer");
// started again on the same --cache-dir it reports the units it holds as cache (docs/pieces.md,
// "Progress"). Real processes over loopback; run inside a loopback-only namespace.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoModel } from '../../../node-peer/convert/demo-model.ts';
import { computeModelId } from '../../../shared/model/model-id.ts';
import { startPeerProcess, type PeerProcess } from '../../util/pieces-processes.ts';
import { freePort, startSignalingProcess, type SignalingProcess } from '../../util/signaling-process.ts';
import { makeTempDir } from '../../util/temp-dir.ts';

const tmp = makeTempDir('by-id');
let signaling: SignalingProcess;
let seed: PeerProcess;
let seedId: string;
let modelId: string;
let unitBytes: number;
const running: PeerProcess[] = [];

interface Pieces {
  bytesDone: number;
  bytesTotal: number;
  fromCache: number;
  fromPeers: number;
  fromOrigin: number;
}

beforeAll(async () => {
  const dir = tmp.path('demo');
  await writeDemoModel(dir, { layers: 2, hidden: 64, heads: 4, vocab: 512, context: 256, seed: 3 });
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as { units: { bytes: number }[] };
  modelId = await computeModelId(manifest);
  unitBytes = manifest.units.reduce((n, u) => n + u.bytes, 0);
  signaling = await startSignalingProcess({ port: await freePort() });
  // The seed offers no memory: the peer joined by id holds every layer, so its cache is the whole model.
  seed = startPeerProcess('seed', [
    '--signal',
    signaling.url,
    '--model',
    dir,
    '--memory',
    '0',
    '--cache-dir',
    tmp.path('seed-cache'),
    '--fit-timeout',
    '600',
    '--threads',
    '1',
  ]);
  running.push(seed);
  seedId = String((await seed.waitFor((e) => e.event === 'joined', 60_000))['peerId']);
}, 120_000);

afterAll(async () => {
  for (const p of running) p.kill('SIGKILL');
  await signaling?.stop();
  tmp.cleanup();
});

/** `node-peer start --model <id>` without --origin, with its API; resolves with the API's URL once the ring is ready. */
async function startById(name: string, cacheDir: string): Promise<{ peer: PeerProcess; api: string }> {
  const peer = startPeerProcess(name, [
    '--signal',
    signaling.url,
    '--model',
    modelId,
    '--memory',
    '64MiB',
    '--api-port',
    '0',
    '--cache-dir',
    cacheDir,
    '--threads',
    '1',
  ]);
  running.push(peer);
  const api = String((await peer.waitFor((e) => e.event === 'api', 90_000))['url']);
  await peer.waitFor((e) => e.event === 'ring-ready', 90_000);
  return { peer, api };
}

async function pieces(api: string): Promise<Pieces> {
  return ((await (await fetch(`${api}/status`)).json()) as { pieces: Pieces }).pieces;
}

interface Link {
  peer: string;
  rttMs: number | null;
  throughputBps: number | null;
}

async function links(api: string): Promise<Link[]> {
  return ((await (await fetch(`${api}/status`)).json()) as { links: Link[] }).links;
}

async function stop(peer: PeerProcess): Promise<void> {
  peer.kill('SIGINT');
  await peer.exited;
}

describe('a peer joined by model id, without --origin', () => {
  it('gets the tokenizer from the seed and serves a completion through its API', async () => {
    const { peer, api } = await startById('by-id', tmp.path('fresh-cache'));
    const res = await fetch(`${api}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: modelId, prompt: 'Once upon', max_tokens: 6, temperature: 0 }),
    });
    const body = (await res.json()) as { choices?: { text: string }[]; usage?: { completion_tokens: number }; error?: unknown };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.usage?.completion_tokens).toBeGreaterThan(0);
    expect(typeof body.choices?.[0]?.text).toBe('string');
    await stop(peer);
  }, 180_000);

  it('started again on the same --cache-dir, it reports the units it holds as cache', async () => {
    const cacheDir = tmp.path('returning-cache');
    const first = await startById('first-run', cacheDir);
    await expect.poll(async () => (await pieces(first.api)).bytesDone, { timeout: 60_000 }).toBe(unitBytes);
    expect(await pieces(first.api)).toMatchObject({ fromCache: 0, fromPeers: unitBytes });
    // Status shows the link it fetched over, with the pieces' measured throughput (docs/ring.md, "Measured links").
    const toSeed = (await links(first.api)).find((l) => l.peer === seedId);
    expect(toSeed?.throughputBps).toBeGreaterThan(0);
    await stop(first.peer);

    const again = await startById('second-run', cacheDir);
    const p = await pieces(again.api);
    expect(p).toMatchObject({ bytesDone: unitBytes, bytesTotal: unitBytes, fromCache: unitBytes, fromPeers: 0, fromOrigin: 0 });
    await stop(again.peer);
  }, 240_000);
});
