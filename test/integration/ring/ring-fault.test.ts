import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertLlama2c } from '../../../node-peer/convert/convert-llama2c.ts';
import type { SignalingServer } from '../../../signaling/server.ts';
import { goldenCases, MODELS_DIR } from '../../util/models.ts';
import { generateOn, startRingPeer, startRingSignaling, stopPeer, waitRingReady, type RecordedPlan, type RingPeerProcess } from '../../util/ring-harness.ts';
import { makeTempDir } from '../../util/temp-dir.ts';

// Acceptance 4 of issue 5: a stage process is SIGKILLed mid-generation; the server re-plans the
// two survivors, the requester re-submits prompt + tokens so far, and the generation ends with
// exactly the ids of an undisturbed greedy run.
const GiB = 1024 ** 3;
const tmp = makeTempDir('ring-fault');
const c = goldenCases().find((k) => k.model === 'stories260K.bin')!;
const MAX_TOKENS = 300; // no stop ids: long enough that the kill lands mid-generation
let signaling: { server: SignalingServer; plans: RecordedPlan[] };
const peers: RingPeerProcess[] = [];

beforeAll(async () => {
  signaling = await startRingSignaling();
  const dir = tmp.path('model');
  const { modelId } = await convertLlama2c(join(MODELS_DIR, c.model), join(MODELS_DIR, c.tokenizer), dir, { pieceSize: 64 * 1024 });
  const opts = { signalUrl: signaling.server.url, memoryBytes: GiB, threads: 1, requester: { stepTimeoutMs: 20_000, replanWaitMs: 60_000 } };
  peers.push(await startRingPeer('seed', { ...opts, model: dir, cacheDir: tmp.path('a') }));
  peers.push(await startRingPeer('b', { ...opts, model: modelId, cacheDir: tmp.path('b') }));
  peers.push(await startRingPeer('c', { ...opts, model: modelId, cacheDir: tmp.path('c') }));
  await waitRingReady(peers[0]!, peers.map((p) => p.peerId));
});

afterAll(async () => {
  for (const p of peers) await stopPeer(p);
  await signaling.server.close();
  tmp.cleanup();
});

describe('a stage killed mid-generation', () => {
  it('finishes with exactly the undisturbed greedy ids after a re-plan', async () => {
    const [requester, , victim] = peers as [RingPeerProcess, RingPeerProcess, RingPeerProcess];
    const undisturbed = await generateOn(requester, c.prompt_ids, MAX_TOKENS);
    expect(undisturbed.tokens).toHaveLength(MAX_TOKENS);
    expect(undisturbed.tokens.slice(0, c.generated_ids.length - 1)).toEqual(c.generated_ids.slice(0, -1));

    const from = requester.mark();
    const run = generateOn(requester, c.prompt_ids, MAX_TOKENS, [], 120_000);
    await requester.waitFor((e) => e.event === 'token' && (e['step'] as number) >= 10, 60_000, 'tenth token', from);
    victim.child.kill('SIGKILL');
    const disturbed = await run;

    expect(disturbed.tokens).toEqual(undisturbed.tokens);
    // It really went through a new ring: the survivors' ring became ready while the request ran.
    const events = requester.events.slice(from);
    const readyAt = events.findIndex((e) => e.event === 'ring-ready' && (e['ring'] as string[]).length === 2 && !(e['ring'] as string[]).includes(victim.peerId));
    const doneAt = events.findIndex((e) => e.event === 'generated');
    expect(readyAt).toBeGreaterThan(-1);
    expect(readyAt).toBeLessThan(doneAt);
    const tokensAfter = events.slice(readyAt).filter((e) => e.event === 'token').length;
    expect(tokensAfter).toBeGreaterThan(0);
  });
});
