import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { convertLlama2c } from '../../node-peer/convert/convert-llama2c.ts';
import { asPeerId, asRoomId } from '../../shared/ids.ts';
import { modelShapeFromManifest, totalModelBytes } from '../../shared/planner/model-shape.ts';
import type { ModelManifest } from '../../shared/model/manifest.ts';
import type { SignalingClient } from '../../shared/signaling/signaling-client.ts';
import type { WebSocketConstructor } from '../../shared/signaling/web-socket-like.ts';
import { createSignalingClient } from '../../shared/signaling/websocket-signaling-client.ts';
import { mintJoinToken } from '../../signaling/join-token.ts';
import type { SignalingServer } from '../../signaling/server.ts';
import { goldenCases, MODELS_DIR } from '../util/models.ts';
import { asGoldenIds, generateOn, startRingPeer, startRingSignaling, stopPeer, waitRingReady, type RingPeerProcess } from '../util/ring-harness.ts';
import { makeTempDir } from '../util/temp-dir.ts';

// Verified compute (docs/ring.md): a trusted seed requester and three contributors, real peer
// processes on loopback, each able to hold 70 % of the model (so the seed needs contributors, and
// two members still make a ring after two evictions). One contributor starts adding small noise to its hidden states, later the
// last stage starts returning a token the model would not pick. Each is caught by the seed's
// verifier on its first audited step, evicted by the server (gone from the room, its join token
// refused on rejoin), and the request's ids equal run.c's golden ids all the same.
/** The seed's resident memory may grow by at most this (it loads shadow copies of contributor layers). */
const MAX_RSS_GROWTH_BYTES = 200 * 1024 * 1024;
const SECRET = 'verified-compute-test-secret';
const tmp = makeTempDir('adversary-verified');
const c = goldenCases().find((k) => k.model === 'stories260K.bin')!;
const maxTokens = c.steps - c.prompt_ids.length + 1;
let server: SignalingServer;
let modelId: string;
let room: string;
const peers = new Map<string, RingPeerProcess>();
const tokens = new Map<string, string>();
const clients: SignalingClient[] = [];
const evicted: string[] = [];

function client(token: string): SignalingClient {
  const s = createSignalingClient({
    url: server.url,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    room: asRoomId(room),
    token,
    capabilities: { kind: 'node', engine: 'cpu', memoryBytes: 0, modelsHeld: [], modelsWanted: [] },
  });
  clients.push(s);
  return s;
}

beforeAll(async () => {
  ({ server } = await startRingSignaling({ tokenSecret: SECRET }));
  const dir = tmp.path('model');
  ({ modelId } = await convertLlama2c(join(MODELS_DIR, c.model), join(MODELS_DIR, c.tokenizer), dir, { pieceSize: 64 * 1024 }));
  room = modelId;
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ModelManifest;
  const opts = { signalUrl: server.url, memoryBytes: Math.ceil(totalModelBytes(modelShapeFromManifest(manifest)) * 0.7), threads: 1 };
  for (const name of ['seed', 'b', 'c', 'd']) tokens.set(name, mintJoinToken({ secret: SECRET, room, role: name === 'seed' ? 'trusted' : 'contributor' }));
  peers.set('seed', await startRingPeer('seed', { ...opts, model: dir, cacheDir: tmp.path('seed'), joinToken: tokens.get('seed')!, verify: { rate: 1 } }));
  peers.set('b', await startRingPeer('b', { ...opts, model: modelId, cacheDir: tmp.path('b'), joinToken: tokens.get('b')!, faults: true }));
  for (const name of ['c', 'd'])
    peers.set(name, await startRingPeer(name, { ...opts, model: modelId, cacheDir: tmp.path(name), joinToken: tokens.get(name)!, faults: true }));
  await waitRingReady(
    peers.get('seed')!,
    [...peers.values()].map((p) => p.peerId),
    120_000,
  );
});

afterAll(async () => {
  for (const s of clients) await s.close();
  for (const p of peers.values()) await stopPeer(p);
  await server.close();
  tmp.cleanup();
});

function rss(p: RingPeerProcess): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.child.pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

/** The seed's ring in order, from its latest ring-ready event. */
function currentRing(): string[] {
  const seed = peers.get('seed')!;
  const ready = seed.events.filter((e) => e.event === 'ring-ready').at(-1);
  return (ready?.['ring'] as string[] | undefined) ?? [];
}

const nameOf = (peerId: string): string => [...peers].find(([, p]) => p.peerId === peerId)![0];

async function expectEvicted(name: string): Promise<void> {
  const p = peers.get(name)!;
  const seed = peers.get('seed')!;
  await seed.waitFor((e) => e.event === 'peer-evicted' && e['peer'] === p.peerId, 60_000, `eviction of ${name}`);
  evicted.push(p.peerId);
  // Gone from the room as the server sees it…
  const observer = client(mintJoinToken({ secret: SECRET, room, role: 'contributor' }));
  await observer.connect();
  expect(observer.members.has(asPeerId(p.peerId))).toBe(false);
  // …and its identity (its join token) may not come back.
  await expect(client(tokens.get(name)!).connect()).rejects.toThrow();
}

describe('verified compute', () => {
  let seedRss = 0;

  it('an honest ring with every step audited gives the golden ids (no false alarm)', async () => {
    const seed = peers.get('seed')!;
    seedRss = rss(seed);
    const g = await generateOn(seed, c.prompt_ids, maxTokens, [1]);
    expect(asGoldenIds(g)).toEqual(c.generated_ids);
    expect(seed.events.some((e) => e.event === 'peer-evicted')).toBe(false);
    // The audits timed every stage after the first: the seed now knows the contributors' speeds as it saw them.
    const from = seed.mark();
    seed.command({ cmd: 'status' });
    const st = await seed.waitFor((e) => e.event === 'status', 10_000, 'status', from);
    const measured = st['measuredSpeeds'] as { peer: string; msPerLayer: number; samples: number }[];
    const ring = st['readyRing'] as string[];
    expect(new Set(measured.map((m) => m.peer))).toEqual(new Set(ring.slice(1)));
    for (const m of measured) expect(m.msPerLayer).toBeGreaterThan(0);
  });

  it('a middle stage adding small noise to its hidden states is caught and evicted; the ids stay golden', async () => {
    const ring = currentRing();
    expect(ring.length).toBeGreaterThanOrEqual(3);
    expect(ring[0]).toBe(peers.get('seed')!.peerId); // trusted first (docs/planner.md, "Roles")
    const middle = nameOf(ring[1]!);
    peers.get(middle)!.command({ cmd: 'fault', fault: { kind: 'noise', scale: 1e-3 } });
    await peers.get(middle)!.waitFor((e) => e.event === 'fault', 10_000, 'fault on');
    const g = await generateOn(peers.get('seed')!, c.prompt_ids, maxTokens, [1], 180_000);
    expect(asGoldenIds(g)).toEqual(c.generated_ids);
    await expectEvicted(middle);
  });

  it('a last stage returning a wrong token is caught and evicted; the ids stay golden', async () => {
    const seed = peers.get('seed')!;
    // The ring the seed serves once the evicted member is gone.
    await expect.poll(() => currentRing().length >= 2 && currentRing().every((p) => !evicted.includes(p)), { timeout: 60_000 }).toBe(true);
    const last = nameOf(currentRing().at(-1)!);
    peers.get(last)!.command({ cmd: 'fault', fault: { kind: 'wrong-token' } });
    await peers.get(last)!.waitFor((e) => e.event === 'fault', 10_000, 'fault on');
    const g = await generateOn(seed, c.prompt_ids, maxTokens, [1], 180_000);
    expect(asGoldenIds(g)).toEqual(c.generated_ids);
    await expectEvicted(last);
    expect(seed.child.exitCode).toBeNull();
    expect(rss(seed) - seedRss).toBeLessThan(MAX_RSS_GROWTH_BYTES);
  });
});
