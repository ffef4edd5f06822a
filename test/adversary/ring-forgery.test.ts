import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { convertLlama2c } from '../../node-peer/convert/convert-llama2c.ts';
import { createNodeTransport } from '../../node-peer/transport/node-transport.ts';
import { asPeerId, asRoomId, asSessionId, type SessionId } from '../../shared/ids.ts';
import type { RingMessage } from '../../shared/ring/messages.ts';
import { RING_STRIKES } from '../../shared/ring/ring-peer.ts';
import { ringMessageFrames } from '../../shared/ring/ring-frames.ts';
import type { SignalingClient } from '../../shared/signaling/signaling-client.ts';
import type { WebSocketConstructor } from '../../shared/signaling/web-socket-like.ts';
import { createSignalingClient } from '../../shared/signaling/websocket-signaling-client.ts';
import type { PeerConnection, Transport } from '../../shared/transport/transport.ts';
import type { SignalingServer } from '../../signaling/server.ts';
import { goldenCases, MODELS_DIR } from '../util/models.ts';
import { generateOn, startRingPeer, startRingSignaling, stopPeer, waitRingReady, type RingPeerProcess } from '../util/ring-harness.ts';
import { makeTempDir } from '../util/temp-dir.ts';
import { waitForMember } from '../util/wait-member.ts';

// Hostile members of a ring of three real peer processes (stories260K, WebRTC over loopback), built
// from the project's own signaling client, transport and ring codec. One forges the frames of a
// running session whose id it learnt (tokens, failure reports, ends, activations), the next opens
// ring sessions by the hundred. The honest request must come out id for id as undisturbed, no
// process may die, stage memory stays bounded, and the forger is banned within RING_STRIKES frames.
const GiB = 1024 ** 3;
/** Each stage process's resident memory may grow by at most this through both attacks. */
const MAX_RSS_GROWTH_BYTES = 160 * 1024 * 1024;
const tmp = makeTempDir('adversary-ring');
const c = goldenCases().find((k) => k.model === 'stories260K.bin')!;
const MAX_TOKENS = 300; // long enough (~1 s) for the forgeries to meet the live session
let server: SignalingServer;
let modelId: string;
const peers: RingPeerProcess[] = [];
const attackers: { signaling: SignalingClient; transport: Transport }[] = [];

beforeAll(async () => {
  ({ server } = await startRingSignaling());
  const dir = tmp.path('model');
  ({ modelId } = await convertLlama2c(join(MODELS_DIR, c.model), join(MODELS_DIR, c.tokenizer), dir, { pieceSize: 64 * 1024 }));
  const opts = { signalUrl: server.url, memoryBytes: GiB, threads: 1 };
  peers.push(await startRingPeer('seed', { ...opts, model: dir, cacheDir: tmp.path('a'), traceHops: true }));
  peers.push(await startRingPeer('b', { ...opts, model: modelId, cacheDir: tmp.path('b') }));
  peers.push(await startRingPeer('c', { ...opts, model: modelId, cacheDir: tmp.path('c') }));
  for (const p of peers.slice(0, 2))
    await waitRingReady(
      p,
      peers.map((q) => q.peerId),
      120_000,
    );
});

afterAll(async () => {
  for (const a of attackers) {
    await a.transport.close();
    await a.signaling.close();
  }
  for (const p of peers) await stopPeer(p);
  await server.close();
  tmp.cleanup();
});

function rss(p: RingPeerProcess): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.child.pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

/** A member with no memory to offer (never a stage), joined to the ring's room. */
async function joinAttacker(): Promise<{ signaling: SignalingClient; transport: Transport; epoch: () => number }> {
  let epoch = 0;
  const signaling = createSignalingClient({
    url: server.url,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    room: asRoomId(modelId),
    capabilities: { kind: 'node', engine: 'cpu', memoryBytes: 0, modelsHeld: [], modelsWanted: [] },
  });
  signaling.on('plan', (p) => (epoch = p.epoch));
  const transport = createNodeTransport({ signaling, bindAddress: '127.0.0.1' });
  await signaling.connect();
  // Its join moved the room's epoch: forgeries must carry the plan the stages now serve.
  await expect.poll(() => epoch, { timeout: 20_000 }).toBeGreaterThan(0);
  attackers.push({ signaling, transport });
  return { signaling, transport, epoch: () => epoch };
}

async function dial(a: { signaling: SignalingClient; transport: Transport }, to: string): Promise<PeerConnection> {
  await waitForMember(a.signaling, asPeerId(to));
  return a.transport.connect(asPeerId(to), { timeoutMs: 20_000 });
}

const send = (conn: PeerConnection, m: RingMessage): void => {
  for (const f of ringMessageFrames(m)) conn.send(f, 'ring').catch(() => undefined);
};

async function ringStatus(p: RingPeerProcess): Promise<Record<string, unknown>> {
  const from = p.mark();
  p.command({ cmd: 'status' });
  return p.waitFor((e) => e.event === 'status', 10_000, 'status', from);
}

describe('a ring of strangers', () => {
  let undisturbed: number[];
  const rssBefore = new Map<string, number>();

  it('runs the request undisturbed first (the reference)', async () => {
    for (const p of peers) rssBefore.set(p.name, rss(p));
    undisturbed = (await generateOn(peers[0]!, c.prompt_ids, MAX_TOKENS)).tokens;
    expect(undisturbed).toHaveLength(MAX_TOKENS);
  });

  it('forged tokens, failure reports, ends and activations for a live session change nothing; the forger is banned', async () => {
    const seed = peers[0]!;
    const ring = (await ringStatus(seed))['readyRing'] as string[];
    const byId = (id: string | undefined): RingPeerProcess => peers.find((p) => p.peerId === id)!;
    const [first, middle, last] = [byId(ring[0]), byId(ring[1]), byId(ring[2])];
    const a = await joinAttacker();
    const conns = new Map<string, PeerConnection>();
    for (const p of peers) conns.set(p.name, await dial(a, p.peerId));
    const to = (p: RingPeerProcess): PeerConnection => conns.get(p.name)!;
    const forget = seed.mark();
    seed.command({ cmd: 'hops' }); // forget earlier runs' hops
    await seed.waitFor((e) => e.event === 'hops', 10_000, 'hops', forget);
    const mark = seed.mark();
    const id = 'forged';
    seed.command({ cmd: 'generate', id, prompt: c.prompt_ids, maxTokens: MAX_TOKENS, stop: [] });
    // The session id as it travels (the attacker could learn it from any stage it sits beside).
    let session: SessionId | undefined;
    for (let i = 0; i < 100 && session === undefined; i++) {
      const from = seed.mark();
      seed.command({ cmd: 'hops' });
      const h = await seed.waitFor((e) => e.event === 'hops', 10_000, 'hops', from);
      session = (h['hops'] as { session: string }[])[0]?.session as SessionId | undefined;
      if (session === undefined) await new Promise((r) => setTimeout(r, 5));
    }
    expect(session).toBeDefined();
    const s = asSessionId(String(session));
    const epoch = a.epoch();
    // 2 × RING_STRIKES rounds: each victim bans the forger within RING_STRIKES refused frames and reads no more.
    for (let step = 1; step <= 2 * RING_STRIKES; step++) {
      send(to(seed), { type: 'token', session: s, epoch, step, tokenId: 7, logprob: 0 }); // to the requester, as if from the last stage
      send(to(seed), { type: 'failure', session: s, epoch, message: 'forged' }); // stall the request
      send(to(first), { type: 'token', session: s, epoch, step, tokenId: 7, logprob: 0 }); // steer stage 0's next input
      send(to(middle), { type: 'end', session: s, reason: 'done' }); // drop a stage's KV
      send(to(middle), { type: 'activation', session: s, epoch, step, seqLen: 1, hidden: new Float32Array(64).fill(3) });
      send(to(last), { type: 'activation', session: s, epoch, step, seqLen: 1, hidden: new Float32Array(64).fill(3) }); // steer the head
    }
    const done = await seed.waitFor((e) => e.event === 'generated' && e['id'] === id, 120_000, 'forged-run generation', mark);
    expect(done['tokens']).toEqual(undisturbed);
    for (const p of peers) {
      const st = await ringStatus(p);
      const dropped = st['dropped'] as Record<string, number>;
      expect((dropped['not-a-stage'] ?? 0) + (dropped['wrong-sender'] ?? 0)).toBeGreaterThanOrEqual(RING_STRIKES);
      expect(st['banned']).toContain(a.signaling.peerId);
    }
    // The middle stage held the session when the ends came: refused as not from its requester.
    expect(((await ringStatus(middle))['dropped'] as Record<string, number>)['wrong-sender']).toBeGreaterThanOrEqual(1);
    // node-datachannel sometimes reports the remote's close only once a send fails: a PING each poll makes it show.
    for (const cn of conns.values()) {
      await expect
        .poll(
          async () =>
            cn.closed ||
            (await cn.ping(500).then(
              () => false,
              () => cn.closed,
            )),
          { timeout: 20_000 },
        )
        .toBe(true);
    }
  });

  it('a member opening 100 ring sessions gets its share and busy for the rest; the honest request still comes out undisturbed', async () => {
    const ring = (await ringStatus(peers[0]!))['readyRing'] as string[];
    const a = await joinAttacker();
    const toSeed = await dial(a, ring[0]!); // stage 0 takes prefills
    const busy = new Set<string>();
    const tokensFor = new Set<string>();
    toSeed.on('frame', (f) => {
      if (f.type === 'SESSION_END' && f.reason === 'busy') busy.add(f.session);
    });
    for (const conn of a.transport.connections()) conn.on('frame', (f) => void (f.type === 'TOKEN' && tokensFor.add(f.session)));
    a.transport.on('open', (conn) => conn.on('frame', (f) => void (f.type === 'TOKEN' && tokensFor.add(f.session))));
    const self = asPeerId(a.signaling.peerId ?? '');
    const init = { replyTo: self, maxTokens: 200, stop: [], sampling: { temperature: 0, topP: 1, topK: 0, seed: 1 } };
    for (let i = 0; i < 100; i++) {
      send(toSeed, { type: 'prefill', session: asSessionId(`flood-${i}`), epoch: a.epoch(), step: 0, tokens: c.prompt_ids, init });
    }
    const g = await generateOn(peers[0]!, c.prompt_ids, MAX_TOKENS, [], 180_000);
    expect(g.tokens).toEqual(undisturbed);
    await expect.poll(() => busy.size, { timeout: 30_000 }).toBe(100 - 16);
    for (const p of peers) expect(p.child.exitCode).toBeNull();
    for (const p of peers) expect(rss(p) - (rssBefore.get(p.name) ?? 0)).toBeLessThan(MAX_RSS_GROWTH_BYTES);
    expect(tokensFor.size).toBeLessThanOrEqual(16);
  });
});
