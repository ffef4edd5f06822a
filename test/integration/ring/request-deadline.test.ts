// Every request ends with its tokens or a typed error within its deadline (docs/ring.md,
// "Deadlines"), and a ring whose links do not open is never called ready ("When a ring is
// ready"). Real peer processes on loopback; deadlines shortened by the requester options the
// CLI's --first-token-timeout / --token-timeout set.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoModel } from '../../../node-peer/convert/demo-model.ts';
import type { SignalingServer } from '../../../signaling/server.ts';
import {
  generateOn,
  startRingPeer,
  startRingSignaling,
  stopPeer,
  tryGenerateOn,
  waitRingReady,
  type RecordedPlan,
  type RingPeerProcess,
} from '../../util/ring-harness.ts';
import { makeTempDir } from '../../util/temp-dir.ts';
import { joinUnlinkedMember, type UnlinkedMember } from '../../util/unlinked-member.ts';

const MiB = 1024 ** 2;
const DEADLINE_MS = 3_000;
/** What a process on this loaded machine may add to a deadline before the error reaches the test. */
const SLACK_MS = 15_000;
const PROMPT = [1, 72, 101, 108, 108, 111];
const tmp = makeTempDir('request-deadline');
const requester = { firstTokenMs: DEADLINE_MS, nextTokenMs: DEADLINE_MS };
let signaling: { server: SignalingServer; plans: RecordedPlan[] };
let modelDir = '';

beforeAll(async () => {
  signaling = await startRingSignaling();
  modelDir = tmp.path('model');
  await writeDemoModel(modelDir, { layers: 2, hidden: 64, heads: 4, vocab: 512, context: 256, seed: 1 });
});

afterAll(async () => {
  await signaling.server.close();
  tmp.cleanup();
});

describe('a two-stage ring with a stage that answers late, then never', () => {
  let seed: RingPeerProcess;
  let faulty: RingPeerProcess;
  beforeAll(async () => {
    seed = await startRingPeer('seed', {
      signalUrl: signaling.server.url,
      model: modelDir,
      cacheDir: tmp.path('a'),
      memoryBytes: 64 * MiB,
      threads: 1,
      requester,
    });
    const modelId = String(seed.events.find((e) => e.event === 'started')?.['modelId']);
    faulty = await startRingPeer('faulty', {
      signalUrl: signaling.server.url,
      model: modelId,
      cacheDir: tmp.path('b'),
      memoryBytes: 64 * MiB,
      threads: 1,
      requester,
      faults: true,
    });
    await waitRingReady(seed, [seed.peerId, faulty.peerId], 120_000);
  });
  afterAll(async () => {
    await stopPeer(seed);
    await stopPeer(faulty);
  });

  it('a delay per step shorter than the token deadline: the request completes with the undisturbed tokens', async () => {
    const undisturbed = await generateOn(seed, PROMPT, 6);
    faulty.command({ cmd: 'fault', fault: { kind: 'delay', ms: 400 } });
    await faulty.waitFor((e) => e.event === 'fault', 10_000, 'fault set');
    const delayed = await generateOn(seed, PROMPT, 6, [], 6 * 2 * 400 + DEADLINE_MS + SLACK_MS);
    expect(delayed.tokens).toEqual(undisturbed.tokens);
  });

  it('a stage that never answers: RingTimeoutError within the first-token deadline', async () => {
    faulty.command({ cmd: 'fault', fault: { kind: 'silent' } });
    await faulty.waitFor((e) => e.event === 'fault' && (e['fault'] as { kind?: string } | null)?.kind === 'silent', 10_000, 'silent');
    const started = performance.now();
    const r = await tryGenerateOn(seed, PROMPT, 6, [], DEADLINE_MS + SLACK_MS);
    expect(r).toMatchObject({ failed: { name: 'RingTimeoutError' } });
    expect('failed' in r && r.failed.message).toMatch(/no first token within 3000 ms/);
    expect(performance.now() - started).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
  });
});

describe('a ring whose links do not open', () => {
  let seed: RingPeerProcess;
  let unlinked: UnlinkedMember;
  afterAll(async () => {
    await stopPeer(seed);
    await unlinked?.close();
  });

  it('is not reported ready, says which link is down, and a request ends with a typed error within its deadline', async () => {
    seed = await startRingPeer('seed-2', {
      signalUrl: signaling.server.url,
      model: modelDir,
      cacheDir: tmp.path('c'),
      memoryBytes: 64 * MiB,
      threads: 1,
      requester,
    });
    const modelId = String(seed.events.find((e) => e.event === 'started')?.['modelId']);
    await waitRingReady(seed, [seed.peerId], 60_000);
    unlinked = await joinUnlinkedMember(signaling.server.url, modelId, 64 * MiB);
    const plan = await seed.waitFor(
      (e) => e.event === 'plan' && (e['ring'] as { peerId: string }[]).some((s) => s.peerId === unlinked.peerId),
      30_000,
      'a plan with the unlinked member',
    );
    // The seed's link to the member fails (its connect times out) and the seed says so.
    await seed.waitFor((e) => e.event === 'ring-link-down' && e['peer'] === unlinked.peerId, 60_000, 'ring-link-down');

    const started = performance.now();
    const r = await tryGenerateOn(seed, PROMPT, 6, [], DEADLINE_MS + SLACK_MS);
    expect(r).toMatchObject({ failed: { name: 'NoRingError' } });
    expect(performance.now() - started).toBeLessThan(DEADLINE_MS + SLACK_MS);

    // Never ready: no ring-ready for that plan's epoch, and the status has no ready ring.
    seed.command({ cmd: 'status' });
    const status = await seed.waitFor((e) => e.event === 'status', 10_000, 'status');
    expect(status['planEpoch']).toBe(plan['epoch']);
    expect(status['readyRing']).toBeNull();
    expect(seed.events.some((e) => e.event === 'ring-ready' && e['epoch'] === plan['epoch'])).toBe(false);
  });
});
