import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertLlama2c } from '../../../node-peer/convert/convert-llama2c.ts';
import type { SignalingServer } from '../../../signaling/server.ts';
import { goldenCases, MODELS_DIR } from '../../util/models.ts';
import { generateOn, startRingPeer, startRingSignaling, stopPeer, waitRingReady, type RingPeerProcess } from '../../util/ring-harness.ts';
import { makeTempDir } from '../../util/temp-dir.ts';

// Acceptance: eight sessions in flight at once through one ring (each stage keeps
// eight KV caches and interleaves their steps) give the same ids as the same requests one by one.
const GiB = 1024 ** 3;
const tmp = makeTempDir('ring-concurrency');
const c = goldenCases().find((k) => k.model === 'stories260K.bin')!;
let server: SignalingServer;
const peers: RingPeerProcess[] = [];

// Eight different prompts (prefixes and variations of the golden prompt), different lengths.
const prompts = Array.from({ length: 8 }, (_, i) => [...c.prompt_ids.slice(0, 2 + i), ...(i % 2 === 0 ? [] : [100 + i, 7 * i])]);
const MAX_TOKENS = 40;

beforeAll(async () => {
  ({ server } = await startRingSignaling());
  const dir = tmp.path('model');
  const { modelId } = await convertLlama2c(join(MODELS_DIR, c.model), join(MODELS_DIR, c.tokenizer), dir, { pieceSize: 64 * 1024 });
  const opts = { signalUrl: server.url, memoryBytes: GiB, threads: 1 };
  peers.push(await startRingPeer('seed', { ...opts, model: dir, cacheDir: tmp.path('a') }));
  peers.push(await startRingPeer('b', { ...opts, model: modelId, cacheDir: tmp.path('b') }));
  peers.push(await startRingPeer('c', { ...opts, model: modelId, cacheDir: tmp.path('c') }));
  await waitRingReady(
    peers[0]!,
    peers.map((p) => p.peerId),
    120_000,
  );
  await waitRingReady(
    peers[1]!,
    peers.map((p) => p.peerId),
    120_000,
  );
});

afterAll(async () => {
  for (const p of peers) await stopPeer(p);
  await server.close();
  tmp.cleanup();
});

describe('eight concurrent sessions', () => {
  it('give the same outputs as the same requests run one after another', async () => {
    const sequential: number[][] = [];
    for (const p of prompts) sequential.push((await generateOn(peers[0]!, p, MAX_TOKENS)).tokens);
    // Two requesters at once, so sessions of different requesters share the stages too.
    const from = peers.slice(0, 2).map((p) => p.mark());
    const concurrent = await Promise.all(prompts.map((p, i) => generateOn(peers[i % 2]!, p, MAX_TOKENS)));
    expect(concurrent.map((g) => g.tokens)).toEqual(sequential);
    // They really were in flight together: each requester's tokens of its four sessions interleave
    // (run one after another, they would come in four blocks, three switches).
    for (const [i, p] of peers.slice(0, 2).entries()) {
      const ids = p.events
        .slice(from[i])
        .filter((e) => e.event === 'token')
        .map((e) => e['id']);
      const switches = ids.filter((id, k) => k > 0 && id !== ids[k - 1]).length;
      expect(switches).toBeGreaterThan(prompts.length / 2 - 1);
    }
    expect(new Set(sequential.map((t) => t.join(','))).size).toBeGreaterThan(1); // the prompts really differ in output
  });
});
