// `npm run bench -- swarm [--n 1,2,4,8] [--runs 1] [--edge-runs 3] [--mb 256 | --layers L] [--rate 50]
//                        [--modes p2p,origin-only,p2p-webrtc] [--budget-min 45] [--trace]`
// Piece distribution: a generated demo model (≥ 256 MB) to N `node-peer start` processes
// that each want all of it (--replica full), from an HTTP origin on loopback throttled to a
// WAN-like rate, peer-to-peer (one room: the origin once, then WebRTC between peers) vs. origin
// only (each peer alone in its own room, so every peer downloads the whole model from the origin),
// interleaved in one run. Reports the time until every peer is ready and origin bytes ÷ model bytes
// (medians over --runs; --edge-runs for the smallest and largest N, whose ratio is the target).
// p2p is the default Node peer: on loopback its links to other Node peers are direct TCP links
// (docs/wire-protocol.md); p2p-webrtc (opt-in mode) is the same swarm with --direct-links off, so
// every link is a WebRTC data channel, as between machines that only WebRTC connects.
// Targets: origin bytes ≤ 1.05 × model bytes for every N; all-ready at N = 8 ≤ 1.5 × N = 1.
// The origin's throttle is one token bucket for all its connections together (an uplink), not
// per connection: origin-only N peers share the 50 MB/s. --mb picks the demo model's size (layers
// of ~50 MB plus ~68 MB of embedding and head, at least the size asked). Bounded in time: each run
// has a timeout, and no new run starts after --budget-min minutes (the table shows what ran).
// --trace prints each peer's bytes from the origin and from peers, second by second.
// WebRTC must stay on loopback: with any interface besides `lo`, the bench re-runs itself inside a
// fresh network namespace. Every wait is bounded; every child is killed by its own pid.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { writeDemoModel } from '../node-peer/convert/demo-model.ts';
import type { ModelManifest } from '../shared/model/manifest.ts';
import { manifestFromFile } from '../shared/pieces/manifest-bytes.ts';
import { createSignalingServer, type SignalingServer } from '../signaling/server.ts';
import { startOriginServer } from '../test/util/origin-server.ts';
import { startPeerProcess, type PeerEvent, type PeerProcess } from '../test/util/pieces-processes.ts';
import { median, printTable, writeResults, type Row } from './_report.ts';

const MB = 1e6;
const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const NS = (flag('n') ?? '1,2,4,8').split(',').map(Number);
const RUNS = Number(flag('runs') ?? 1);
/** Runs for the smallest and largest N, whose ratio is the target. */
const EDGE_RUNS = Number(flag('edge-runs') ?? 3);
const RATE = Number(flag('rate') ?? 50) * MB;
/** Demo model shape: hidden 1024, vocab 8192 → ~50.3 MB per layer + ~68.4 MB embedding and head. */
const LAYER_MB = 50.3;
const EMBED_HEAD_MB = 68.4;
const LAYERS = flag('layers') ? Number(flag('layers')) : Math.max(1, Math.ceil((Number(flag('mb') ?? 256) - EMBED_HEAD_MB) / LAYER_MB));
const ALL_MODES = ['p2p', 'origin-only', 'p2p-webrtc'] as const;
type Mode = (typeof ALL_MODES)[number];
const MODES = (flag('modes') ?? 'p2p,origin-only').split(',').filter((m): m is Mode => (ALL_MODES as readonly string[]).includes(m));
const BUDGET_MS = Number(flag('budget-min') ?? 45) * 60_000;
const TRACE = args.includes('--trace');

function reexecIsolated(): void {
  const others = Object.keys(os.networkInterfaces()).filter((n) => n !== 'lo');
  if (others.length === 0) return;
  if (process.env['RINGMESH_BENCH_ISOLATED'] === '1') throw new Error(`still not isolated: interfaces ${others.join(', ')}`);
  console.error(`[bench] interfaces ${others.join(', ')} present: re-running inside a loopback-only namespace`);
  const unshare = process.getuid?.() === 0 ? ['-n'] : ['-rn'];
  const r = spawnSync(
    'unshare',
    [...unshare, 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', process.execPath, ...process.execArgv, process.argv[1] ?? 'bench/swarm.ts', ...args],
    {
      stdio: 'inherit',
      env: { ...process.env, RINGMESH_BENCH_ISOLATED: '1' },
    },
  );
  process.exit(r.status ?? 1);
}

/** The demo model (seeded, fp32, 4 MiB pieces), generated once and kept in the temp dir. */
async function ensureModel(): Promise<{ dir: string; manifest: ModelManifest; modelId: string; bytes: number }> {
  const dir = join(os.tmpdir(), `ringmesh-bench-swarm-model-${LAYERS}x1024`);
  if (!existsSync(join(dir, 'manifest.json'))) {
    console.error(`[bench] generating the demo model in ${dir}`);
    await rm(dir, { recursive: true, force: true });
    await writeDemoModel(dir, { layers: LAYERS, hidden: 1024, heads: 16, vocab: 8192, seed: 7 });
  }
  const m = await manifestFromFile(undefined, new Uint8Array(await readFile(join(dir, 'manifest.json'))));
  const bytes = m.manifest.units.reduce((n, u) => n + u.bytes, 0);
  return { dir, manifest: m.manifest, modelId: m.modelId, bytes };
}

interface RunResult {
  readonly mode: Mode;
  readonly n: number;
  /** Seconds from spawning the peers until the last one reported ready; NaN on timeout. */
  readonly allReadyS: number;
  /** Seconds from spawning until the last peer joined its room (process start-up, for context). */
  readonly allJoinedS: number;
  readonly originBytes: number;
  readonly originRatio: number;
  readonly fromPeers: number;
  /** CPU seconds (user + system) all peer processes used, start-up included. */
  readonly peerCpuS: number;
  /** Seconds from spawning until each peer was ready. */
  readonly peerReadyS: readonly number[];
  /** 1-minute load average when the run started (this machine is shared: context for the times). */
  readonly loadAvg: number;
}

/** utime + stime of a live process, from /proc (Linux; clock ticks of 1/100 s). */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN; // already gone: not measurable, not a reason to fail the run
  }
}

async function runOnce(mode: Mode, n: number, model: Awaited<ReturnType<typeof ensureModel>>, work: string): Promise<RunResult> {
  const origin = await startOriginServer({ dir: model.dir, pieceSize: model.manifest.pieceSize, bytesPerSecond: RATE });
  // p2p: one room for all. origin-only: a signaling server per peer, so each is alone in its room.
  const servers: SignalingServer[] = [];
  const oneRoom = mode !== 'origin-only';
  for (let i = 0; i < (oneRoom ? 1 : n); i++) servers.push(await createSignalingServer({ port: 0 }));
  const peers: PeerProcess[] = [];
  const loadAvg = os.loadavg()[0] ?? Number.NaN;
  // Bounded: 8 × what the origin alone would need for all N copies (a loaded 2-core box is slow).
  const timeoutMs = Math.max(120_000, ((8 * n * model.bytes) / RATE) * 1000);
  const t0 = Date.now();
  try {
    for (let i = 0; i < n; i++) {
      const signal = (servers[oneRoom ? 0 : i] as SignalingServer).url;
      // --layers 0:L: the pieces-only peer (no ring engine), fetching every unit anyway (--replica full).
      peers.push(
        startPeerProcess(
          `${mode}-${n}-${i}`,
          [
            '--signal',
            signal,
            '--model',
            model.modelId,
            '--origin',
            origin.url,
            '--replica',
            'full',
            '--layers',
            `0:${model.manifest.architecture.numLayers}`,
            '--cache-dir',
            join(work, `${mode}-${n}-${i}`),
            ...(mode === 'p2p-webrtc' ? ['--direct-links', 'off'] : []),
          ],
          TRACE ? { env: { RINGMESH_TRACE_ORIGIN: '1' } } : {},
        ),
      );
    }
    const isReady = (e: PeerEvent): boolean => e.event === 'ready';
    const ready = await Promise.all(peers.map((p) => p.waitFor(isReady, timeoutMs))).catch((err: unknown) => {
      console.error(`[bench] ${mode} N=${n}: ${String(err).slice(0, 500)}`);
      return undefined;
    });
    const peerCpuS = peers.reduce((s, p) => s + cpuSeconds(p.child.pid), 0);
    if (TRACE) {
      trace(mode, n, peers, t0);
      if (oneRoom) traceDuplicates(origin.bytesByPiece, model.manifest.pieceSize, peers);
    }
    const joined = peers.map((p) => Number(p.events.find((e) => e.event === 'joined')?.t ?? Number.NaN));
    const originBytes = [...origin.bytesByPiece].filter(([k]) => !k.startsWith('manifest.json')).reduce((s, [, b]) => s + b, 0);
    return {
      mode,
      n,
      allReadyS: ready ? (Math.max(...ready.map((e) => Number(e.t))) - t0) / 1000 : Number.NaN,
      allJoinedS: (Math.max(...joined) - t0) / 1000,
      originBytes,
      originRatio: originBytes / model.bytes,
      fromPeers: ready ? ready.reduce((s, e) => s + Number(e.fromPeers ?? 0), 0) : Number.NaN,
      peerCpuS,
      peerReadyS: peers.map((p) => (Number(p.events.find(isReady)?.t ?? Number.NaN) - t0) / 1000),
      loadAvg,
    };
  } finally {
    for (const p of peers) p.kill('SIGKILL');
    await Promise.all(peers.map((p) => p.exited));
    for (const s of servers) await s.close();
    await origin.close();
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
  }
}

/** Each peer's MB from the origin / from peers at every whole second after spawning. */
function trace(mode: Mode, n: number, peers: readonly PeerProcess[], t0: number): void {
  for (const p of peers) {
    const marks: string[] = [];
    let next = 0;
    for (const e of p.events) {
      if (e.event !== 'progress' && e.event !== 'ready') continue;
      const s = (Number(e.t) - t0) / 1000;
      if (s < next && e.event !== 'ready') continue;
      marks.push(`${s.toFixed(1)}s o${(Number(e.fromOrigin ?? 0) / MB).toFixed(0)}/p${(Number(e.fromPeers ?? 0) / MB).toFixed(0)}`);
      next = Math.floor(s) + 1;
    }
    console.error(`[trace] ${mode} N=${n} ${p.name}: ${marks.join(' ')}`);
  }
}

/** For each piece the origin served more than once: which peers read it, on which view of the room. */
function traceDuplicates(bytesByPiece: ReadonlyMap<string, number>, pieceSize: number, peers: readonly PeerProcess[]): void {
  for (const [k, b] of bytesByPiece) {
    if (k.startsWith('manifest') || b <= pieceSize) continue;
    const key = k.replace('.bin', '');
    for (const p of peers) for (const l of p.stderr().split('\n')) if (l.includes(`"originRead":"${key}"`)) console.error(`[dup ${key}] ${p.name} ${l}`);
  }
}

async function main(): Promise<void> {
  reexecIsolated();
  const model = await ensureModel();
  console.error(
    `[bench] model ${model.modelId.slice(0, 12)}…: ${(model.bytes / MB).toFixed(1)} MB in ${model.manifest.units.length} units, origin ${RATE / MB} MB/s`,
  );
  const work = join(os.tmpdir(), `ringmesh-bench-swarm-${process.pid}`);
  await mkdir(work, { recursive: true });
  const results: RunResult[] = [];
  const edge = new Set([Math.min(...NS), Math.max(...NS)]);
  const rounds = Math.max(RUNS, EDGE_RUNS);
  const started = Date.now();
  let skipped = 0;
  try {
    // Interleaved (round → N → mode) so machine load drifts hit both modes alike.
    for (let r = 0; r < rounds; r++) {
      for (const n of NS) {
        if (r >= (edge.has(n) ? EDGE_RUNS : RUNS)) continue;
        for (const mode of MODES) {
          if (Date.now() - started > BUDGET_MS) {
            skipped++;
            continue;
          }
          const res = await runOnce(mode, n, model, work);
          results.push(res);
          console.error(
            `[bench] round ${r + 1} ${mode} N=${n}: all ready ${res.allReadyS.toFixed(1)} s (joined ${res.allJoinedS.toFixed(1)} s), origin ${res.originRatio.toFixed(3)} × model, peers' CPU ${res.peerCpuS.toFixed(1)} s`,
          );
        }
      }
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }

  const pick = (mode: Mode, n: number): RunResult[] => results.filter((x) => x.mode === mode && x.n === n);
  const med = (xs: RunResult[], f: (x: RunResult) => number): number => median(xs.map(f));
  if (skipped > 0) console.error(`[bench] time budget (${BUDGET_MS / 60_000} min) spent: ${skipped} runs skipped`);
  const rows: Row[] = NS.map((n) => {
    const p = pick('p2p', n);
    const o = pick('origin-only', n);
    const w = pick('p2p-webrtc', n);
    return {
      N: n,
      runs: p.length,
      'load avg': med([...p, ...o], (x) => x.loadAvg),
      'p2p all-ready s': med(p, (x) => x.allReadyS),
      'origin-only all-ready s': med(o, (x) => x.allReadyS),
      'p2p origin/model (worst)': Math.max(...p.map((x) => x.originRatio)),
      'origin-only origin/model': med(o, (x) => x.originRatio),
      'p2p start-up s': med(p, (x) => x.allJoinedS),
      // From the moment every peer was in the room: what start-up (N processes transpiling and
      // loading on 2 shared cores) does not explain.
      'p2p after-join s': med(p, (x) => x.allReadyS - x.allJoinedS),
      'origin-only after-join s': med(o, (x) => x.allReadyS - x.allJoinedS),
      'p2p peer CPU s': med(p, (x) => x.peerCpuS),
      'origin-only peer CPU s': med(o, (x) => x.peerCpuS),
      ...(w.length > 0
        ? {
            'p2p-webrtc all-ready s': med(w, (x) => x.allReadyS),
            'p2p-webrtc after-join s': med(w, (x) => x.allReadyS - x.allJoinedS),
            'p2p-webrtc peer CPU s': med(w, (x) => x.peerCpuS),
          }
        : {}),
    };
  });
  const lo = Math.min(...NS);
  const hi = Math.max(...NS);
  const ratio = med(pick('p2p', hi), (x) => x.allReadyS) / med(pick('p2p', lo), (x) => x.allReadyS);
  const worstOrigin = Math.max(...results.filter((x) => x.mode !== 'origin-only').map((x) => x.originRatio));
  const afterJoin = (n: number): number => med(pick('p2p', n), (x) => x.allReadyS - x.allJoinedS);
  printTable(`swarm: ${(model.bytes / MB).toFixed(1)} MB model, origin ${RATE / MB} MB/s, medians (${os.cpus().length} CPUs)`, rows);
  console.log(`\np2p all-ready N=${hi} ÷ N=${lo}: ${ratio.toFixed(2)} (target ≤ 1.5) ${ratio <= 1.5 ? 'met' : 'MISSED'}`);
  console.log(`p2p after-join N=${hi} ÷ N=${lo}: ${(afterJoin(hi) / afterJoin(lo)).toFixed(2)} (start-up excluded; context, not the target)`);
  console.log(`p2p origin bytes ÷ model bytes, worst run: ${worstOrigin.toFixed(3)} (target ≤ 1.05) ${worstOrigin <= 1.05 ? 'met' : 'MISSED'}`);
  writeResults('swarm', {
    modelBytes: model.bytes,
    modelId: model.modelId,
    pieceSize: model.manifest.pieceSize,
    rateBytesPerS: RATE,
    originThrottle: 'one token bucket shared by all connections',
    rows,
    ratio,
    worstOrigin,
    skipped,
    runs: results,
  });
}

await main();
