import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertLlama2c } from '../../node-peer/convert/convert-llama2c.ts';
import { mintJoinToken } from '../../signaling/join-token.ts';
import type { SignalingServer } from '../../signaling/server.ts';
import { goldenCases, MODELS_DIR } from '../util/models.ts';
import { PeerProcess, type PeerEvent } from '../util/peer-process.ts';
import { asGoldenIds, generateOn, startRingPeer, startRingSignaling, stopPeer, waitRingReady, type RingPeerProcess } from '../util/ring-harness.ts';
import { makeTempDir } from '../util/temp-dir.ts';

// Proof of holding (docs/ring.md): two trusted members (the seed, and one that fetches the model:
// the planner gives contributors layers between two trusted ends, docs/planner.md "Roles") and an
// honest contributor, real peer processes on loopback. A contributor that reports `ready` without
// holding its units (its swarm refuses the trusted members' ranged REQUESTs), then one that answers
// them with random bytes, joins and is given layers: neither is ever counted in a ready ring, by
// any honest member; a trusted member evicts each, and the honest ring is ready again and
// generates the golden ids.
const GiB = 1024 ** 3;
/** The honest processes' resident memory may grow by at most this through both liars. */
const MAX_RSS_GROWTH_BYTES = 160 * 1024 * 1024;
const SECRET = 'holding-proof-test-secret';
const LIAR = join(import.meta.dirname, '..', 'util', 'holding-liar-child.ts');
const tmp = makeTempDir('adversary-holding');
const c = goldenCases().find((k) => k.model === 'stories260K.bin')!;
const maxTokens = c.steps - c.prompt_ids.length + 1;
let server: SignalingServer;
let modelId: string;
let seed: RingPeerProcess;
let trusted: RingPeerProcess;
let honest: RingPeerProcess;
const everyone = (): RingPeerProcess[] => [seed, trusted, honest];
const ring = (): string[] => everyone().map((p) => p.peerId);
const liars: PeerProcess[] = [];
let minted = 0;
/** A join token of its own per member (the expiry tells them apart): an eviction bans the exact token. */
const token = (role: 'trusted' | 'contributor'): string => mintJoinToken({ secret: SECRET, room: modelId, role, ttlSeconds: 3600 + ++minted });

beforeAll(async () => {
  ({ server } = await startRingSignaling({ tokenSecret: SECRET }));
  const dir = tmp.path('model');
  ({ modelId } = await convertLlama2c(join(MODELS_DIR, c.model), join(MODELS_DIR, c.tokenizer), dir, { pieceSize: 64 * 1024 }));
  const opts = { signalUrl: server.url, memoryBytes: GiB, threads: 1 };
  seed = await startRingPeer('seed', { ...opts, model: dir, cacheDir: tmp.path('seed'), joinToken: token('trusted') });
  trusted = await startRingPeer('trusted', { ...opts, model: modelId, cacheDir: tmp.path('trusted'), joinToken: token('trusted') });
  honest = await startRingPeer('honest', { ...opts, model: modelId, cacheDir: tmp.path('honest'), joinToken: token('contributor') });
});

afterAll(async () => {
  for (const l of liars) {
    if (l.child.exitCode === null && l.child.signalCode === null) l.kill();
    await l.exited;
  }
  for (const p of [seed, trusted, honest]) if (p) await stopPeer(p);
  await server.close();
  tmp.cleanup();
});

function rss(p: PeerProcess): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.child.pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

const readyRings = (p: PeerProcess): string[][] => p.events.filter((e) => e.event === 'ring-ready').map((e) => e['ring'] as string[]);
const holding =
  (outcome: string, peer: string) =>
  (e: PeerEvent): boolean =>
    e.event === 'holding' && e['outcome'] === outcome && e['peer'] === peer;

async function startLiar(name: string, mode: 'reject' | 'garbage'): Promise<{ liar: PeerProcess; peerId: string }> {
  const joinToken = token('contributor');
  const liar = PeerProcess.start(name, LIAR, [
    JSON.stringify({ signalUrl: server.url, model: modelId, cacheDir: tmp.path(name), joinToken, memoryBytes: GiB, mode }),
  ]);
  liars.push(liar);
  const started = await liar.waitFor((e) => e.event === 'started', 60_000, 'started');
  return { liar, peerId: started['peerId'] as string };
}

/** A liar joins, is given layers, claims ready; it is never in a ready ring, and a trusted member evicts it. */
async function expectRefused(name: string, mode: 'reject' | 'garbage', detail: RegExp): Promise<void> {
  const from = everyone().map((p) => p.mark());
  const { liar, peerId } = await startLiar(name, mode);
  await liar.waitFor((e) => e.event === 'claimed-ready', 60_000, 'a plan with layers for the liar');
  // Either trusted member may be first to catch it (the other's challenge then ends with the epoch).
  const failed = await Promise.any([seed, trusted].map((p, i) => p.waitFor(holding('failed', peerId), 60_000, `failed proof of ${name}`, from[i])));
  expect(String(failed['detail'])).toMatch(detail);
  // Evicted by the server on a trusted member's word: its signaling is closed for good.
  await liar.waitFor((e) => e.event === 'signaling-state' && e['state'] === 'closed', 30_000, 'eviction');
  // The honest ring is ready again without it, on every honest member, and generates.
  for (const [i, p] of everyone().entries()) await waitRingReady(p, ring(), 60_000, from[i]);
  for (const p of everyone())
    expect(
      readyRings(p).some((r) => r.includes(peerId)),
      `${p.name} counted ${name} ready`,
    ).toBe(false);
  const g = await generateOn(honest, c.prompt_ids, maxTokens, [1]);
  expect(asGoldenIds(g)).toEqual(c.generated_ids);
}

describe('proof of holding', () => {
  let rss0: number[] = [];

  it('an honest contributor proves its units: the ring is ready and generates the golden ids', async () => {
    for (const p of everyone()) await waitRingReady(p, ring(), 120_000);
    // A trusted member challenged the contributor stage and found it holding its units (the other
    // one's challenge may still be under way: one attestation is enough).
    expect([seed, trusted].some((p) => p.events.some(holding('proven', honest.peerId)))).toBe(true);
    const g = await generateOn(seed, c.prompt_ids, maxTokens, [1]);
    expect(asGoldenIds(g)).toEqual(c.generated_ids);
    rss0 = everyone().map(rss);
  });

  it('a contributor claiming ready without its units (REJECT missing) is never counted, and evicted', async () => {
    await expectRefused('liar-reject', 'reject', /refused \(missing\)/);
  });

  it('a contributor answering the challenges with random bytes is never counted, and evicted', async () => {
    await expectRefused('liar-garbage', 'garbage', /bytes differ/);
    for (const [i, p] of everyone().entries()) {
      expect(p.child.exitCode, p.name).toBeNull();
      expect(rss(p) - rss0[i]!, p.name).toBeLessThan(MAX_RSS_GROWTH_BYTES);
    }
  });
});
