// The ring bench proper (bench/ring.ts dispatches here unless given --verify-rate): `npm run bench -- ring [--layers 12 --hidden 768 --heads 12 --vocab 32000 --prompt 16
// --decode 32 --runs 5 --threads 1 --stages 2,3,4 --concurrency 1,4,8 --dtype fp32
// --activations fp32 --links direct|webrtc --max-minutes 20]`: a generated ~100M-parameter demo model; greedy decode
// tokens/s in one process vs rings of 2, 3, 4 Node peer processes on loopback (real WebRTC data
// channels), per-hop activation latency p50/p99, and aggregate tokens/s with 1, 4, 8 concurrent
// sessions on the largest ring. Targets (docs/ring.md): 4-stage ring ≥ 0.85 × one-process decode at the
// same thread count; 4 sessions ≥ 1.6 × one session.
//
// Every ring is up at once (one signaling server each), and the configurations take turns within
// each run (rotating which goes first), so load from other work on the machine hits them alike.
// Medians of --runs. Bounded: past --max-minutes no new measurement starts and the table says so.
// Run it inside a loopback-only namespace (as the tests do): WebRTC must not leave loopback.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { WeightDType } from '../shared/model/manifest.ts';
import type { HopTrace } from '../shared/ring/ring-link.ts';
import type { SignalingServer } from '../signaling/server.ts';
import { generateOn, startRingPeer, startRingSignaling, stopPeer, waitRingReady, type RingPeerProcess } from '../test/util/ring-harness.ts';
import { benchPrompt, decodeRate, mean, OneProcess, rotate, writeBenchModel } from './_ring-common.ts';
import { median, percentile, printTable, writeResults, type Row } from './_report.ts';

const { values: a } = parseArgs({
  options: {
    layers: { type: 'string', default: '12' },
    hidden: { type: 'string', default: '768' },
    heads: { type: 'string', default: '12' },
    vocab: { type: 'string', default: '32000' },
    prompt: { type: 'string', default: '16' },
    decode: { type: 'string', default: '32' },
    runs: { type: 'string', default: '5' },
    threads: { type: 'string', default: '1' },
    stages: { type: 'string', default: '2,3,4' },
    concurrency: { type: 'string', default: '1,4,8' },
    dtype: { type: 'string', default: 'fp32' },
    activations: { type: 'string', default: 'fp32' },
    links: { type: 'string', default: 'direct' },
    'max-minutes': { type: 'string', default: '20' },
  },
});
const n = (v: string | undefined): number => Number(v);
const promptLen = n(a.prompt);
const decodeTokens = n(a.decode);
const runs = n(a.runs);
const threads = n(a.threads);
const ringSizes = (a.stages ?? '').split(',').map(Number);
const concurrency = (a.concurrency ?? '').split(',').map(Number);
const activations = a.activations === 'fp16' ? 'fp16' : 'fp32';
/** Links between the ring's Node peers: direct TCP (the default on loopback) or WebRTC data channels. */
const links = a.links === 'webrtc' ? 'webrtc' : 'direct';
const deadline = performance.now() + n(a['max-minutes']) * 60_000;
const GEN_TIMEOUT_MS = 300_000;

const prompt = (r: number, vocab: number): number[] => benchPrompt(promptLen, r, vocab);
const timeLeft = (): boolean => performance.now() < deadline;

/** CPU seconds (user + system, every thread) a process has used so far, from /proc. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ (100 on Linux)
}

interface Ring {
  readonly size: number;
  readonly server: SignalingServer;
  readonly peers: RingPeerProcess[];
  readonly rates: number[];
  /** CPU ms of all the ring's processes per generated token (prefill included). */
  readonly cpuPerToken: number[];
  traces: Map<string, HopTrace[]>;
}

/** One ring generation of decodeTokens + 1 tokens: its decode rate and CPU ms per token. */
async function decodeOnRing(ring: Ring, r: number, vocab: number): Promise<void> {
  const pids = ring.peers.map((p) => p.child.pid as number);
  const before = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const g = await generateOn(ring.peers[0]!, prompt(r, vocab), decodeTokens + 1, [], GEN_TIMEOUT_MS);
  const used = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0) - before;
  ring.rates.push(decodeRate(g.times));
  ring.cpuPerToken.push((used * 1000) / (decodeTokens + 1));
}

/** Every peer's traced activations and tokens since the last call. */
async function collectTraces(ps: readonly RingPeerProcess[]): Promise<Map<string, HopTrace[]>> {
  const traces = new Map<string, HopTrace[]>();
  for (const p of ps) {
    const from = p.mark();
    p.command({ cmd: 'hops' });
    traces.set(p.peerId, (await p.waitFor((ev) => ev.event === 'hops', 30_000, 'hops', from))['hops'] as HopTrace[]);
  }
  return traces;
}

interface Breakdown {
  /** One-way latencies (ms) of activations, send → receive at the next stage. */
  readonly activationHops: number[];
  /** One-way latencies (ms) of tokens, last stage → stage 0. */
  readonly tokenHops: number[];
  /** Mean time (ms) each stage spends on one decode step, frame in → frame out, summed over stages. */
  readonly stageMs: number;
}

/** Where a decode step's time goes: hops matched send → receive, stage time receive → send. */
function breakdown(traces: ReadonlyMap<string, readonly HopTrace[]>): Breakdown {
  const at = new Map<string, number>();
  const key = (peer: string, dir: string, kind: string, session: string, step: number): string => `${peer}|${dir}|${kind}|${session}|${step}`;
  for (const [peer, hs] of traces) for (const h of hs) at.set(key(peer, h.dir, h.kind, h.session, h.step), h.at);
  const activationHops: number[] = [];
  const tokenHops: number[] = [];
  const stage = new Map<string, number[]>();
  for (const [peer, hs] of traces) {
    for (const h of hs) {
      if (h.dir === 'send') {
        const arrived = at.get(key(h.peer, 'recv', h.kind, h.session, h.step));
        if (arrived !== undefined && traces.has(h.peer)) (h.kind === 'activation' ? activationHops : tokenHops).push(arrived - h.at);
        continue;
      }
      // Received input for step s (an activation of s, or on stage 0 the token of s − 1): the
      // stage's time is until it sends what step s produces (an activation, or the token).
      const step = h.kind === 'activation' ? h.step : h.step + 1;
      const out = at.get(key(peer, 'send', 'activation', h.session, step)) ?? at.get(key(peer, 'send', 'token', h.session, step));
      if (out !== undefined && (h.kind === 'activation' || !at.has(key(peer, 'recv', 'activation', h.session, step)))) {
        const xs = stage.get(peer) ?? [];
        xs.push(out - h.at);
        stage.set(peer, xs);
      }
    }
  }
  return { activationHops, tokenHops, stageMs: [...stage.values()].reduce((sum, xs) => sum + mean(xs), 0) };
}

async function startRing(size: number, dir: string, cacheDir: string): Promise<Ring> {
  const { server } = await startRingSignaling();
  const ring: Ring = { size, server, peers: [], rates: [], cpuPerToken: [], traces: new Map() };
  for (let i = 0; i < size; i++) {
    ring.peers.push(
      await startRingPeer(
        `r${size}p${i}`,
        {
          signalUrl: server.url,
          model: dir,
          memoryBytes: 8 * 1024 ** 3,
          cacheDir,
          threads,
          activationDtype: activations,
          directLinks: links === 'direct',
          traceHops: true,
          requester: { stepTimeoutMs: 120_000 },
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
  await generateOn(ring.peers[0]!, prompt(99, 259), 4, [], GEN_TIMEOUT_MS); // warm-up: connections, first-run allocations
  await collectTraces(ring.peers); // discard the warm-up's traces
  return ring;
}

const work = mkdtempSync(join(tmpdir(), 'ringmesh-bench-ring-'));
const rings: Ring[] = [];
let truncated = false;
try {
  const shape = { layers: n(a.layers), hidden: n(a.hidden), heads: n(a.heads), vocab: n(a.vocab), context: 1024, seed: 1 };
  const dir = join(work, 'model');
  const model = await writeBenchModel(dir, shape, a.dtype as WeightDType);
  const { vocab, params } = model;
  const conditions = `${(params / 1e6).toFixed(1)}M params, ${a.dtype} weights, ${activations} activations, intra-op threads ${threads} per stage and in the one process, ${cpus().length} cores, ${links === 'direct' ? 'direct TCP links' : 'WebRTC links'} between stages`;
  console.log(`demo model: ${conditions}`);

  const one = await OneProcess.load(model, threads);
  await one.decode(prompt(99, vocab), decodeTokens, 'one-warm-up'); // warm-up
  const cacheDir = join(work, 'cache'); // shared: every peer seeds the same package, stored once
  for (const size of ringSizes) rings.push(await startRing(size, dir, cacheDir));
  console.log(`  rings of ${ringSizes.join(', ')} up; measuring`);

  // Decode: one process and every ring take turns, `runs` times.
  const single: number[] = [];
  const singleCpu: number[] = [];
  const configs: (Ring | 'one')[] = ['one', ...rings];
  const loadBefore = loadavg()[0] as number;
  for (let r = 0; r < runs && timeLeft(); r++) {
    for (const c of rotate(configs, r)) {
      if (!timeLeft()) break;
      if (c === 'one') {
        const m = await one.decode(prompt(r, vocab), decodeTokens, `one-${r}`);
        single.push(m.rate);
        singleCpu.push(m.cpuPerToken);
      } else {
        await decodeOnRing(c, r, vocab);
      }
    }
    console.log(`  run ${r + 1}: one ${single.at(-1)?.toFixed(2)} tok/s; ${rings.map((g) => `${g.size}-stage ${g.rates.at(-1)?.toFixed(2)}`).join(', ')}`);
  }
  await one.dispose();
  for (const g of rings) g.traces = await collectTraces(g.peers);
  const baseline = median(single);
  const baseCpu = median(singleCpu);
  const rows: Row[] = [
    {
      setup: '1 process',
      'decode tok/s': baseline,
      'vs 1 process': 1,
      'paired ratio': 1,
      'ms/token': 1000 / baseline,
      'stages ms': 1000 / baseline,
      'hops ms': 0,
      'hop p50 ms': '-',
      'hop p99 ms': '-',
      'token hop p50 ms': '-',
      'CPU ms/token': baseCpu,
      'CPU vs 1 process': 1,
      samples: single.length,
    },
  ];
  for (const g of rings) {
    const rate = median(g.rates);
    const b = breakdown(g.traces);
    rows.push({
      setup: `${g.size}-stage ring`,
      'decode tok/s': rate,
      'vs 1 process': rate / baseline,
      // Each run's ring rate over the one-process rate of the same run: less exposed to load drifting between runs.
      'paired ratio': median(g.rates.map((x, i) => x / (single[i] ?? Number.NaN))),
      'ms/token': 1000 / rate,
      'stages ms': b.stageMs,
      'hops ms': mean(b.activationHops) * (g.size - 1) + mean(b.tokenHops),
      'hop p50 ms': percentile(b.activationHops, 50),
      'hop p99 ms': percentile(b.activationHops, 99),
      'token hop p50 ms': percentile(b.tokenHops, 50),
      'CPU ms/token': median(g.cpuPerToken),
      'CPU vs 1 process': median(g.cpuPerToken) / baseCpu,
      samples: g.rates.length,
    });
  }

  // Concurrency on the largest ring: levels take turns as well.
  const big = rings.reduce((x, y) => (y.size > x.size ? y : x));
  const aggregate = new Map<number, number[]>(concurrency.map((c) => [c, []]));
  for (let r = 0; r < runs && timeLeft(); r++) {
    for (const c of rotate(concurrency, r)) {
      if (!timeLeft()) break;
      const t = performance.now();
      await Promise.all(Array.from({ length: c }, (_, i) => generateOn(big.peers[0]!, prompt(100 + r * 10 + i, vocab), decodeTokens, [], GEN_TIMEOUT_MS)));
      aggregate.get(c)!.push((c * decodeTokens) / ((performance.now() - t) / 1000));
    }
    console.log(`  concurrency run ${r + 1}: ${concurrency.map((c) => `${c}: ${aggregate.get(c)!.at(-1)?.toFixed(2)}`).join(', ')} tok/s`);
  }
  const ones = aggregate.get(1) ?? [];
  const oneSession = median(ones);
  const concurrencyRows: Row[] = concurrency.map((c) => {
    const xs = aggregate.get(c)!;
    const m = median(xs);
    return {
      sessions: c,
      'aggregate tok/s': m,
      'vs 1 session': m / oneSession,
      'paired ratio': median(xs.map((x, i) => x / (ones[i] ?? Number.NaN))),
      samples: xs.length,
    };
  });
  const load = `load average ${loadBefore.toFixed(1)} → ${(loadavg()[0] as number).toFixed(1)} (other work on the machine)`;
  truncated = !timeLeft();

  const note = truncated ? ` — STOPPED at --max-minutes ${a['max-minutes']}, fewer samples` : '';
  printTable(
    `ring decode (greedy): ${conditions}; prompt ${promptLen}, ${decodeTokens} decode tokens, median of ${runs} interleaved runs; ${load}${note}`,
    rows,
  );
  printTable(
    `aggregate over concurrent sessions, ${big.size}-stage ring (each: prompt ${promptLen} + ${decodeTokens} tokens, wall time incl. prefill)${note}`,
    concurrencyRows,
  );
  writeResults('ring', {
    shape,
    dtype: a.dtype,
    activations,
    links,
    params,
    threads,
    cores: cpus().length,
    promptLen,
    decodeTokens,
    runs,
    truncated,
    load,
    rows,
    concurrencyRows,
    samples: {
      single,
      singleCpu,
      rings: rings.map((g) => ({ size: g.size, rates: g.rates, cpuPerToken: g.cpuPerToken })),
      aggregate: Object.fromEntries(aggregate),
    },
  });
} finally {
  for (const g of rings) {
    for (const p of g.peers) await stopPeer(p);
    await g.server.close();
  }
  rmSync(work, { recursive: true, force: true });
}
