import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertLlama2c } from '../../../node-peer/convert/convert-llama2c.ts';
import type { ModelManifest } from '../../../shared/model/manifest.ts';
import { modelShapeFromManifest, totalModelBytes } from '../../../shared/planner/model-shape.ts';
import type { SignalingServer } from '../../../signaling/server.ts';
import { goldenCases, MODELS_DIR } from '../../util/models.ts';
import {
  generateOn,
  startRingPeer,
  startRingSignaling,
  stopPeer,
  tryGenerateOn,
  waitRingReady,
  type RecordedPlan,
  type RingPeerChildOptions,
  type RingPeerProcess,
} from '../../util/ring-harness.ts';
import { makeTempDir } from '../../util/temp-dir.ts';

// Acceptance: a stage process is SIGKILLed mid-generation; the server re-plans the
// two survivors, the requester re-submits prompt + tokens so far, and the generation ends with
// exactly the ids of an undisturbed greedy run. And the other way a request must end — never in
// silence: when the survivors cannot hold the model, it fails with a typed error within a bound.
const GiB = 1024 ** 3;
const tmp = makeTempDir('ring-fault');
const c = goldenCases().find((k) => k.model === 'stories260K.bin')!;
// No stop ids, and as long as the context allows (prompt + maxTokens − 1 ≤ 512), so the kill
// lands mid-generation even when the test process is slow to see the tenth token.
const MAX_TOKENS = 480;
const REPLAN_WAIT_MS = 5_000;
let signaling: { server: SignalingServer; plans: RecordedPlan[] };
let modelDir = '';
let modelId = '';

beforeAll(async () => {
  signaling = await startRingSignaling();
  modelDir = tmp.path('model');
  ({ modelId } = await convertLlama2c(join(MODELS_DIR, c.model), join(MODELS_DIR, c.tokenizer), modelDir, { pieceSize: 64 * 1024 }));
});

afterAll(async () => {
  await signaling.server.close();
  tmp.cleanup();
});

/** Seed (holds the package) + two peers that fetch pieces; waits until the three form a ring. */
async function startThree(tag: string, opts: Omit<RingPeerChildOptions, 'model' | 'cacheDir'>): Promise<RingPeerProcess[]> {
  const peers: RingPeerProcess[] = [];
  peers.push(await startRingPeer(`${tag}-seed`, { ...opts, model: modelDir, cacheDir: tmp.path(`${tag}-a`) }));
  peers.push(await startRingPeer(`${tag}-b`, { ...opts, model: modelId, cacheDir: tmp.path(`${tag}-b`) }));
  peers.push(await startRingPeer(`${tag}-c`, { ...opts, model: modelId, cacheDir: tmp.path(`${tag}-c`) }));
  await waitRingReady(
    peers[0]!,
    peers.map((p) => p.peerId),
    120_000,
  );
  return peers;
}

/** Starts a generation on `requester` and SIGKILLs `victim` once the tenth token arrived. */
async function killMidGeneration(
  requester: RingPeerProcess,
  victim: RingPeerProcess,
): Promise<{ from: number; run: ReturnType<typeof tryGenerateOn>; killedAt: number }> {
  const from = requester.mark();
  const run = tryGenerateOn(requester, c.prompt_ids, MAX_TOKENS, [], 150_000);
  await requester.waitFor((e) => e.event === 'token' && (e['step'] as number) >= 10, 60_000, 'tenth token', from);
  victim.child.kill('SIGKILL');
  return { from, run, killedAt: performance.now() };
}

describe('a stage killed mid-generation', () => {
  let peers: RingPeerProcess[] = [];
  beforeAll(async () => {
    peers = await startThree('replan', {
      signalUrl: signaling.server.url,
      memoryBytes: GiB,
      threads: 1,
      requester: { stepTimeoutMs: 20_000, replanWaitMs: 60_000 },
    });
  });
  afterAll(async () => {
    for (const p of peers) await stopPeer(p);
  });

  it('finishes with exactly the undisturbed greedy ids after a re-plan', async () => {
    const [requester, , victim] = peers as [RingPeerProcess, RingPeerProcess, RingPeerProcess];
    const undisturbed = await generateOn(requester, c.prompt_ids, MAX_TOKENS);
    expect(undisturbed.tokens).toHaveLength(MAX_TOKENS);
    expect(undisturbed.tokens.slice(0, c.generated_ids.length - 1)).toEqual(c.generated_ids.slice(0, -1));

    const { from, run } = await killMidGeneration(requester, victim);
    const disturbed = await run;

    expect(disturbed).toEqual(expect.objectContaining({ tokens: undisturbed.tokens, reason: 'length' }));
    // It really went through a new ring: the survivors' ring became ready while the request ran,
    // and tokens still came after that.
    const events = requester.events.slice(from);
    const readyAt = events.findIndex(
      (e) => e.event === 'ring-ready' && (e['ring'] as string[]).length === 2 && !(e['ring'] as string[]).includes(victim.peerId),
    );
    const doneAt = events.findIndex((e) => e.event === 'generated');
    expect(readyAt).toBeGreaterThan(-1);
    expect(readyAt).toBeLessThan(doneAt);
    expect(events.slice(readyAt).filter((e) => e.event === 'token').length).toBeGreaterThan(0);
    // Each step was emitted once, in order, even across the re-submission.
    expect(events.filter((e) => e.event === 'token').map((e) => e['step'])).toEqual(undisturbed.tokens.map((_, i) => i));
  });
});

describe('a stage killed when the survivors cannot hold the model', () => {
  let peers: RingPeerProcess[] = [];
  beforeAll(async () => {
    // Each peer can hold 45 % of the model: three form a ring, two cannot.
    const manifest = JSON.parse(readFileSync(join(modelDir, 'manifest.json'), 'utf8')) as ModelManifest;
    const budget = Math.ceil(totalModelBytes(modelShapeFromManifest(manifest)) * 0.45);
    peers = await startThree('short', {
      signalUrl: signaling.server.url,
      memoryBytes: budget,
      threads: 1,
      requester: { stepTimeoutMs: 20_000, replanWaitMs: REPLAN_WAIT_MS },
    });
  });
  afterAll(async () => {
    for (const p of peers) await stopPeer(p);
  });

  it('ends the request with NoRingError within the re-plan wait, and so does a new request', async () => {
    const [requester, , victim] = peers as [RingPeerProcess, RingPeerProcess, RingPeerProcess];
    const { run, killedAt } = await killMidGeneration(requester, victim);
    const outcome = await run;
    const waited = performance.now() - killedAt;

    expect(outcome).toEqual({ failed: expect.objectContaining({ name: 'NoRingError' }) });
    // Bound: the re-plan wait after the server's "insufficient" plan, plus slack for a loaded machine.
    expect(waited).toBeLessThan(REPLAN_WAIT_MS + 20_000);
    const last = signaling.plans.filter((p) => p.plan.modelId === modelId).at(-1)!;
    expect(last.plan.kind).toBe('insufficient');
    expect(last.plan.kind === 'insufficient' && last.plan.missingBytes).toBeGreaterThan(0);
    const status = requester.mark();
    requester.command({ cmd: 'status' });
    expect((await requester.waitFor((e) => e.event === 'status', 30_000, 'status', status))['missingBytes']).toBeGreaterThan(0);

    // A request made while no ring can form fails the same way rather than waiting forever.
    const t = performance.now();
    expect(await tryGenerateOn(requester, c.prompt_ids, 8, [], 60_000)).toEqual({ failed: expect.objectContaining({ name: 'NoRingError' }) });
    expect(performance.now() - t).toBeLessThan(REPLAN_WAIT_MS + 20_000);
  });
});
