// `npm run bench -- ring [--layers 12 --hidden 768 --heads 12 --vocab 32000 --prompt 16
// --decode 32 --runs 3 --threads 1 --stages 2,3,4 --concurrency 1,4,8 --dtype fp32]`:
// a generated ~100M-parameter demo model; decode tokens/s in one process vs rings of 2, 3, 4 Node
// peer processes on loopback (real WebRTC data channels), per-hop activation latency p50/p99, and
// aggregate tokens/s with 1, 4, 8 concurrent sessions on the largest ring. Medians of --runs.
// Targets (issue 5): 4-stage ring ≥ 0.85 × one-process decode; 4 sessions ≥ 1.6 × one session.
// Run it inside a loopback-only namespace (as the tests do): WebRTC must not leave loopback.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeDemoModel } from '../node-peer/convert/demo-model.ts';
import { loadChain } from '../node-peer/engine/load-chain.ts';
import { OrtNodeEngine } from '../node-peer/engine/ort-node-engine.ts';
import { openModelPackage } from '../node-peer/model/open-model-package.ts';
import { runChain } from '../shared/generate/stage-chain.ts';
import { asSessionId } from '../shared/ids.ts';
import type { HopTrace } from '../shared/ring/ring-link.ts';
import type { WeightDType } from '../shared/model/manifest.ts';
import { generateOn, startRingPeer, startRingSignaling, stopPeer, waitRingReady, type RingPeerProcess } from '../test/util/ring-harness.ts';
import { median, percentile, printTable, writeResults, type Row } from './_report.ts';

const { values: a } = parseArgs({
  options: {
    layers: { type: 'string', default: '12' },
    hidden: { type: 'string', default: '768' },
    heads: { type: 'string', default: '12' },
    vocab: { type: 'string', default: '32000' },
    prompt: { type: 'string', default: '16' },
    decode: { type: 'string', default: '32' },
    runs: { type: 'string', default: '3' },
    threads: { type: 'string', default: '1' },
    stages: { type: 'string', default: '2,3,4' },
    concurrency: { type: 'string', default: '1,4,8' },
    dtype: { type: 'string', default: 'fp32' },
    activations: { type: 'string', default: 'fp32' },
  },
});
const n = (v: string | undefined): number => Number(v);
const promptLen = n(a.prompt);
const decodeTokens = n(a.decode);
const runs = n(a.runs);
const threads = n(a.threads);
const ringSizes = (a.stages ?? '').split(',').map(Number);
const concurrency = (a.concurrency ?? '').split(',').map(Number);
const prompt = (r: number, vocab: number): number[] => Array.from({ length: promptLen }, (_, i) => 3 + ((i * 7919 + r * 104729) % (vocab - 3)));

/** Decode tokens/s of one generation from its token arrival times (first token = end of prefill). */
const decodeRate = (times: readonly number[]): number => (times.length - 1) / (((times.at(-1) as number) - (times[0] as number)) / 1000);

const work = mkdtempSync(join(tmpdir(), 'ringmesh-bench-ring-'));
const peers: RingPeerProcess[] = [];
try {
  const shape = { layers: n(a.layers), hidden: n(a.hidden), heads: n(a.heads), vocab: n(a.vocab), context: 1024, seed: 1 };
  const dir = join(work, 'model');
  const { manifest } = await writeDemoModel(dir, shape, { dtype: a.dtype as WeightDType });
  const vocab = manifest.architecture.vocabSize;
  const params = manifest.tensors.filter((x) => !(manifest.architecture.tiedEmbeddings && x.name === 'lm_head.weight')).reduce((s, x) => s + x.shape.reduce((p, d) => p * d, 1), 0);
  console.log(`demo model: ${(params / 1e6).toFixed(1)}M parameters, ${a.dtype} weights, ${a.activations} activations, ${threads} thread(s) per stage`);

  // One process, one stage: the baseline.
  const engine = new OrtNodeEngine({ threads });
  const [whole] = await loadChain(engine, await openModelPackage(dir), [{ start: 0, end: manifest.architecture.numLayers }], threads);
  const single: number[] = [];
  for (let r = 0; r < runs; r++) {
    const session = asSessionId(`one-${r}`);
    let last = await runChain([whole!], session, prompt(r, vocab));
    const t = performance.now();
    for (let i = 0; i < decodeTokens; i++) last = await runChain([whole!], session, [3 + (i % 100)]);
    single.push(decodeTokens / ((performance.now() - t) / 1000));
    whole!.freeSession(session);
    void last;
  }
  await engine.dispose();
  const baseline = median(single);
  console.log(`  one process: ${baseline.toFixed(2)} tok/s decode`);
  const rows: Row[] = [{ setup: '1 process', stages: 1, 'decode tok/s': baseline, 'vs 1 process': 1, 'hop p50 ms': '-', 'hop p99 ms': '-' }];
  const concurrencyRows: Row[] = [];

  const { server } = await startRingSignaling();
  const cacheDir = join(work, 'cache'); // shared: every peer seeds the same package, stored once
  try {
    for (const size of ringSizes) {
      for (let i = 0; i < size; i++) {
        peers.push(await startRingPeer(`p${i}`, {
          signalUrl: server.url, model: dir, memoryBytes: 8 * 1024 ** 3, cacheDir, threads,
          activationDtype: a.activations === 'fp16' ? 'fp16' : 'fp32', traceHops: true,
          requester: { stepTimeoutMs: 120_000 },
        }, 300_000));
      }
      const requester = peers[0]!;
      await waitRingReady(requester, peers.map((p) => p.peerId), 600_000);
      await generateOn(requester, prompt(99, vocab), 4); // warm-up: connections, first-run allocations
      for (const p of peers) p.command({ cmd: 'hops' });
      const rates: number[] = [];
      for (let r = 0; r < runs; r++) rates.push(decodeRate((await generateOn(requester, prompt(r, vocab), decodeTokens + 1)).times));
      const hops = await collectHops(peers);
      const rate = median(rates);
      rows.push({ setup: `${size}-stage ring`, stages: size, 'decode tok/s': rate, 'vs 1 process': rate / baseline, 'hop p50 ms': percentile(hops, 50), 'hop p99 ms': percentile(hops, 99) });
      console.log(`  ${size}-stage ring: ${rate.toFixed(2)} tok/s decode (${(rate / baseline).toFixed(3)} × one process), hop p50 ${percentile(hops, 50).toFixed(2)} ms`);

      if (size === Math.max(...ringSizes)) {
        let one = 0;
        for (const c of concurrency) {
          const agg: number[] = [];
          for (let r = 0; r < runs; r++) {
            const t = performance.now();
            await Promise.all(Array.from({ length: c }, (_, i) => generateOn(requester, prompt(100 + r * 10 + i, vocab), decodeTokens, [], 600_000)));
            agg.push((c * decodeTokens) / ((performance.now() - t) / 1000));
          }
          const m = median(agg);
          if (c === 1) one = m;
          concurrencyRows.push({ sessions: c, 'aggregate tok/s': m, 'vs 1 session': one > 0 ? m / one : Number.NaN });
          console.log(`  ${c} concurrent sessions: ${m.toFixed(2)} tok/s aggregate`);
        }
      }
      for (const p of peers.splice(0)) await stopPeer(p);
    }
  } finally {
    for (const p of peers.splice(0)) await stopPeer(p);
    await server.close();
  }
  printTable(`ring decode: ${(params / 1e6).toFixed(0)}M params, prompt ${promptLen}, ${decodeTokens} decode tokens, ${threads} thread(s)/stage, median of ${runs}`, rows);
  printTable(`aggregate over concurrent sessions, ${Math.max(...ringSizes)}-stage ring (each: prompt ${promptLen} + ${decodeTokens} tokens)`, concurrencyRows);
  writeResults('ring', { shape, dtype: a.dtype, activations: a.activations, params, promptLen, decodeTokens, runs, threads, rows, concurrencyRows });
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** One-way activation latencies (ms): each send matched with its receive at the next peer. */
async function collectHops(ps: RingPeerProcess[]): Promise<number[]> {
  const traces = new Map<string, HopTrace[]>();
  for (const p of ps) {
    const from = p.mark();
    p.command({ cmd: 'hops' });
    const e = await p.waitFor((ev) => ev.event === 'hops', 30_000, 'hops', from);
    traces.set(p.peerId, e['hops'] as HopTrace[]);
  }
  const recv = new Map<string, number>();
  for (const [peer, hs] of traces) for (const h of hs) if (h.dir === 'recv') recv.set(`${h.peer}>${peer}:${h.session}:${h.step}`, h.at);
  const out: number[] = [];
  for (const [peer, hs] of traces) {
    for (const h of hs) {
      if (h.dir !== 'send') continue;
      const at = recv.get(`${peer}>${h.peer}:${h.session}:${h.step}`);
      if (at !== undefined) out.push(at - h.at);
    }
  }
  return out;
}
