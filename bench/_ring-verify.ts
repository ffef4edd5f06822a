// `npm run bench -- ring --verify-rate R [--sessions 4 --stages 4 --runs 5 --decode 32 --prompt 16
// --layers 12 --hidden 768 --heads 12 --vocab 32000 --threads 1 --max-minutes 20]`: what verified
// compute costs (docs/ring.md, "Verified compute"). Three rings of the generated demo model are up
// at once, each a trusted requester (stage 0) and contributor stages, memory split so every member
// holds layers: verification off (rate 0), at rate R, and at rate 1 (every submission audited, as
// for new contributors). Each run, the three take turns (rotating) generating `sessions`
// concurrent requests of `decode` tokens; aggregate tok/s, medians and every run's figure.
// Target: rate R ≥ 0.9 × off. Before measuring, each verifying ring runs enough audited steps
// that its contributors are no longer new (DEFAULT_VERIFY_POLICY.newSteps), so rate R is what it
// measures. Run it inside a loopback-only namespace, like the tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeDemoModel } from '../node-peer/convert/demo-model.ts';
import { modelShapeFromManifest, totalModelBytes } from '../shared/planner/model-shape.ts';
import { DEFAULT_VERIFY_POLICY } from '../shared/ring/ring-verifier.ts';
import { mintJoinToken } from '../signaling/join-token.ts';
import type { SignalingServer } from '../signaling/server.ts';
import { generateOn, startRingPeer, startRingSignaling, stopPeer, waitRingReady, type RingPeerProcess } from '../test/util/ring-harness.ts';
import { median, printTable, writeResults, type Row } from './_report.ts';

const { values: a } = parseArgs({
  options: {
    'verify-rate': { type: 'string', default: String(DEFAULT_VERIFY_POLICY.rate) },
    sessions: { type: 'string', default: '4' },
    stages: { type: 'string', default: '4' },
    runs: { type: 'string', default: '5' },
    decode: { type: 'string', default: '32' },
    prompt: { type: 'string', default: '16' },
    layers: { type: 'string', default: '12' },
    hidden: { type: 'string', default: '768' },
    heads: { type: 'string', default: '12' },
    vocab: { type: 'string', default: '32000' },
    threads: { type: 'string', default: '1' },
    'max-minutes': { type: 'string', default: '20' },
  },
});
const n = (v: string | undefined): number => Number(v);
const rate = n(a['verify-rate']);
const sessions = n(a.sessions);
const stages = n(a.stages);
const runs = n(a.runs);
const decodeTokens = n(a.decode);
const promptLen = n(a.prompt);
const threads = n(a.threads);
const deadline = performance.now() + n(a['max-minutes']) * 60_000;
const timeLeft = (): boolean => performance.now() < deadline;
const SECRET = 'bench-verify-secret';
const GEN_TIMEOUT_MS = 300_000;
const prompt = (r: number, vocab: number): number[] => Array.from({ length: promptLen }, (_, i) => 3 + ((i * 7919 + r * 104729) % (vocab - 3)));
const rotate = <T>(xs: readonly T[], r: number): T[] => xs.map((_, i) => xs[(i + r) % xs.length] as T);

interface Ring {
  readonly label: string;
  readonly rate: number;
  readonly server: SignalingServer;
  readonly peers: RingPeerProcess[];
  readonly aggregate: number[];
}

async function startRing(label: string, verifyRate: number, dir: string, cacheDir: string, modelId: string, memoryBytes: number): Promise<Ring> {
  const { server } = await startRingSignaling({ tokenSecret: SECRET });
  const ring: Ring = { label, rate: verifyRate, server, peers: [], aggregate: [] };
  for (let i = 0; i < stages; i++) {
    const joinToken = mintJoinToken({ secret: SECRET, room: modelId, role: i === 0 ? 'trusted' : 'contributor', ttlSeconds: 24 * 3600 });
    ring.peers.push(
      await startRingPeer(
        `${label}-p${i}`,
        {
          signalUrl: server.url,
          model: dir,
          memoryBytes,
          cacheDir,
          threads,
          joinToken,
          requester: { stepTimeoutMs: 120_000 },
          ...(i === 0 ? { verify: { rate: verifyRate } } : {}),
        },
        300_000,
      ),
    );
  }
  await waitRingReady(
    ring.peers[0]!,
    ring.peers.map((p) => p.peerId),
    600_000,
  );
  // Warm-up, and past the newcomer phase: enough audited steps for every contributor.
  const warm = verifyRate > 0 ? Math.ceil(DEFAULT_VERIFY_POLICY.newSteps / decodeTokens) + 1 : 1;
  for (let i = 0; i < warm; i++) await generateOn(ring.peers[0]!, prompt(90 + i, 259), decodeTokens, [], GEN_TIMEOUT_MS);
  return ring;
}

const work = mkdtempSync(join(tmpdir(), 'ringmesh-bench-verify-'));
const rings: Ring[] = [];
try {
  const shape = { layers: n(a.layers), hidden: n(a.hidden), heads: n(a.heads), vocab: n(a.vocab), context: 1024, seed: 1 };
  const dir = join(work, 'model');
  const { manifest, modelId } = await writeDemoModel(dir, shape, { dtype: 'fp32' });
  const vocab = manifest.architecture.vocabSize;
  // Each member can hold a bit more than its share, so the planner gives every one of them layers.
  const memoryBytes = Math.ceil((totalModelBytes(modelShapeFromManifest(manifest)) * 1.2) / stages);
  const cacheDir = join(work, 'cache');
  for (const [label, r] of [
    ['off', 0],
    [`rate ${rate}`, rate],
    ['rate 1', 1],
  ] as const)
    rings.push(await startRing(label, r, dir, cacheDir, modelId, memoryBytes));
  console.log(`  rings up (${stages} stages: a trusted requester at stage 0, ${stages - 1} contributors); measuring`);
  const loadBefore = loadavg()[0] as number;
  for (let r = 0; r < runs && timeLeft(); r++) {
    for (const g of rotate(rings, r)) {
      if (!timeLeft()) break;
      const t = performance.now();
      await Promise.all(Array.from({ length: sessions }, (_, i) => generateOn(g.peers[0]!, prompt(100 + r * 10 + i, vocab), decodeTokens, [], GEN_TIMEOUT_MS)));
      g.aggregate.push((sessions * decodeTokens) / ((performance.now() - t) / 1000));
    }
    console.log(`  run ${r + 1}: ${rings.map((g) => `${g.label} ${g.aggregate.at(-1)?.toFixed(2)}`).join(', ')} tok/s`);
  }
  const off = rings[0]!.aggregate;
  const rows: Row[] = rings.map((g) => ({
    verification: g.label,
    'aggregate tok/s': median(g.aggregate),
    'vs off': median(g.aggregate) / median(off),
    'paired ratio': median(g.aggregate.map((x, i) => x / (off[i] ?? Number.NaN))),
    'every run (tok/s)': g.aggregate.map((x) => x.toFixed(1)).join(' '),
    samples: g.aggregate.length,
    // An honest ring must never evict: anything but 0 here is a false alarm.
    evictions: (g.peers[0] as RingPeerProcess).events.filter((e) => e.event === 'peer-evicted').length,
  }));
  const load = `load average ${loadBefore.toFixed(1)} → ${(loadavg()[0] as number).toFixed(1)}`;
  const note = timeLeft() ? '' : ` — STOPPED at --max-minutes ${a['max-minutes']}`;
  printTable(
    `verified compute: ${sessions} concurrent sessions on a ${stages}-stage ring (prompt ${promptLen} + ${decodeTokens} tokens each), ${cpus().length} cores, threads ${threads}; ${load}${note}`,
    rows,
  );
  writeResults('ring-verify', {
    shape,
    rate,
    sessions,
    stages,
    runs,
    decodeTokens,
    promptLen,
    threads,
    load,
    rows,
    samples: Object.fromEntries(rings.map((g) => [g.label, g.aggregate])),
  });
} finally {
  for (const g of rings) {
    for (const p of g.peers) await stopPeer(p);
    await g.server.close();
  }
  rmSync(work, { recursive: true, force: true });
}
