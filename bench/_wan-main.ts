// The WAN bench proper, run by bench/wan.ts inside a network namespace of its own:
// `npm run bench -- wan [--model small|110m --delays 0,5,20 --jitter 0 --loss 0 --peers 4
// --sessions 1,8 --requester peer|client --links webrtc|direct --prompt 16 --decode 32 --runs 3
// --threads 1 --dtype fp32 --max-minutes 40]`.
//
// For each one-way delay (every loopback packet held that long by the delay line, ± --jitter ms,
// --loss percent dropped; docs/ring.md, "WAN bench"): a signaling server and --peers Node peer
// processes that can each hold the whole model join one room under that delay (so signaling, ICE
// and the ring's links all pay it), and the requester generates 1 and 8 concurrent sessions while
// the same model decodes in this process (the one-process rate), the configurations taking turns
// within each run. The requester is what a user calls: with `peer` (default) the first peer, the
// one whose API the user talks to, itself holding the model; with `client` a further peer with no
// memory (an API-only machine). Its requester spreads sessions over the ready rings.
// 1 session: decode tokens/s (prefill excluded); N sessions: N × decode tokens over the wall time.
// Bounded: past --max-minutes no new measurement starts and the table says so.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { WeightDType } from '../shared/model/manifest.ts';
import type { SignalingServer } from '../signaling/server.ts';
import type { PeerEvent } from '../test/util/peer-process.ts';
import { generateOn, startRingPeer, startRingSignaling, stopPeer, type RingPeerProcess } from '../test/util/ring-harness.ts';
import { DelayLine, echoRttMs, type DelaySetting } from './_delay-line.ts';
import { benchPrompt, decodeRate, OneProcess, rotate, writeBenchModel } from './_ring-common.ts';
import { median, printTable, writeResults, type Row } from './_report.ts';

const MODELS = {
  small: { layers: 8, hidden: 512, heads: 8, vocab: 32_000 },
  '110m': { layers: 12, hidden: 768, heads: 12, vocab: 32_000 },
} as const;

const { values: a } = parseArgs({
  options: {
    model: { type: 'string', default: 'small' },
    // The signaling server's placement: 'latency' (ringmesh-signal's default: replica rings when
    // peers can each hold the model) or 'memory' (one ring over every member, the old planner).
    placement: { type: 'string', default: 'latency' },
    delays: { type: 'string', default: '0,5,20' },
    jitter: { type: 'string', default: '0' },
    loss: { type: 'string', default: '0' },
    peers: { type: 'string', default: '4' },
    sessions: { type: 'string', default: '1,8' },
    requester: { type: 'string', default: 'peer' },
    links: { type: 'string', default: 'webrtc' },
    prompt: { type: 'string', default: '16' },
    decode: { type: 'string', default: '32' },
    runs: { type: 'string', default: '3' },
    threads: { type: 'string', default: '1' },
    dtype: { type: 'string', default: 'fp32' },
    'max-minutes': { type: 'string', default: '40' },
  },
});
const n = (v: string | undefined): number => Number(v);
const shape = MODELS[a.model as keyof typeof MODELS];
if (shape === undefined) throw new Error(`--model ${a.model}: one of ${Object.keys(MODELS).join(', ')}`);
const delays = (a.delays ?? '').split(',').map(Number);
const sessions = (a.sessions ?? '').split(',').map(Number);
const peerCount = n(a.peers);
const promptLen = n(a.prompt);
const decodeTokens = n(a.decode);
const runs = n(a.runs);
const threads = n(a.threads);
const client = a.requester === 'client';
/** Peers across the internet talk WebRTC; `direct` is the TCP link Node peers use on one host. */
const links = a.links === 'direct' ? 'direct' : 'webrtc';
const setting = (delayMs: number): DelaySetting => ({ delayMs, jitterMs: n(a.jitter), loss: n(a.loss) / 100 });
const deadline = performance.now() + n(a['max-minutes']) * 60_000;
const timeLeft = (): boolean => performance.now() < deadline;
const GEN_TIMEOUT_MS = 300_000;
const START_TIMEOUT_MS = 600_000;

interface Room {
  readonly server: SignalingServer;
  readonly peers: RingPeerProcess[];
  readonly requester: RingPeerProcess;
  /** The rings of the plan measured, peer ids, stage 0 first. */
  readonly rings: string[][];
  readonly readyMs: number;
}

const live = new Set<RingPeerProcess>();

/** The rings of `p`'s latest plan once it is at least `epoch` and every one of its rings is ready for `p`'s requester. */
function readyRings(p: RingPeerProcess, epoch: number): string[][] | null {
  const plan = p.events.filter((e) => e.event === 'plan').at(-1);
  if (plan === undefined || (plan['epoch'] as number) < epoch) return null;
  const rings = (plan['rings'] as { peerId: string }[][]).map((r) => r.map((st) => st.peerId));
  const heads = new Set(p.events.filter((e) => e.event === 'ring-ready' && e['epoch'] === plan['epoch']).map((e) => (e['ring'] as string[])[0]));
  return rings.every((r) => heads.has(r[0] as string)) ? rings : null;
}

async function startRoom(dir: string, cacheDir: string, vocab: number): Promise<Room> {
  const t = performance.now();
  const { server } = await startRingSignaling({ placement: a.placement === 'memory' ? 'memory' : 'latency' });
  try {
    return await joinRoom(server, dir, cacheDir, vocab, t);
  } catch (err) {
    await server.close();
    throw err;
  }
}

async function joinRoom(server: SignalingServer, dir: string, cacheDir: string, vocab: number, t: number): Promise<Room> {
  const start = (name: string, memoryBytes: number): Promise<RingPeerProcess> =>
    startRingPeer(
      name,
      {
        signalUrl: server.url,
        model: dir,
        memoryBytes,
        cacheDir,
        threads,
        directLinks: links === 'direct',
        requester: { stepTimeoutMs: 120_000 },
      },
      START_TIMEOUT_MS,
    ).then((p) => {
      live.add(p);
      return p;
    });
  const peers = await Promise.all(Array.from({ length: peerCount }, (_, i) => start(`wan-p${i}`, 8 * 1024 ** 3)));
  const all = client ? [...peers, await start('wan-client', 0)] : peers;
  const requester = (client ? all.at(-1) : peers[0]) as RingPeerProcess;
  // Each peer's first plan comes after its own join: the latest of them has every member.
  const firsts = await Promise.all(all.map((p) => p.waitFor((e) => e.event === 'plan', START_TIMEOUT_MS, 'a plan')));
  const epoch = Math.max(...firsts.map((e) => e['epoch'] as number));
  await requester.waitFor(() => readyRings(requester, epoch) !== null, START_TIMEOUT_MS, `every ring of plan ${epoch} ready`);
  const rings = readyRings(requester, epoch) as string[][];
  const readyMs = performance.now() - t;
  console.log(`    rings ${rings.map((r) => r.length).join(' + ')} stages ready in ${(readyMs / 1000).toFixed(1)} s; warming up`);
  // Warm-up: every ring's links and first-run allocations, before anything is timed.
  const most = Math.max(...sessions);
  await Promise.all(Array.from({ length: most }, (_, i) => generateOn(requester, benchPrompt(promptLen, 90 + i, vocab), 4, [], GEN_TIMEOUT_MS)));
  return { server, peers: all, requester, rings, readyMs };
}

async function stopRoom(room: Room): Promise<void> {
  for (const p of room.peers) {
    await stopPeer(p);
    live.delete(p);
  }
  await room.server.close();
}

/** Distinct rings (by stage 0) the requester submitted to from event `from` on. */
const ringsUsed = (events: readonly PeerEvent[], from: number): number =>
  new Set(
    events
      .slice(from)
      .filter((e) => e.event === 'submitted')
      .map((e) => (e['ring'] as string[])[0]),
  ).size;

const work = mkdtempSync(join(tmpdir(), 'ringmesh-bench-wan-'));
let line: DelayLine | null = null;
let room: Room | null = null;
// A signal must not leave peers (and with them the namespace) behind: kill them by pid.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    for (const p of live) p.kill();
    void line?.stop().finally(() => process.exit(130));
  });
}
try {
  const model = await writeBenchModel(join(work, 'model'), shape, a.dtype as WeightDType);
  const conditions = `${(model.params / 1e6).toFixed(1)}M params (${shape.layers} layers × ${shape.hidden}), ${a.dtype} weights, ${peerCount} peers with 8 GiB each (each can hold the model), requester: ${client ? 'a separate peer with no memory' : 'the first peer'}, ${links === 'direct' ? 'direct TCP links' : 'WebRTC links'}, intra-op threads ${threads} per peer and in the one process, ${cpus().length} cores`;
  console.log(`wan bench: ${conditions}`);
  const one = await OneProcess.load(model, threads);
  await one.decode(benchPrompt(promptLen, 99, model.vocab), decodeTokens, 'one-warm-up');
  line = await DelayLine.start(work);

  const rows: Row[] = [];
  const samples: unknown[] = [];
  for (const delayMs of delays) {
    if (!timeLeft()) break;
    await line.set(setting(delayMs));
    const rttMs = await echoRttMs();
    const loadBefore = loadavg()[0] as number;
    console.log(`  ${delayMs} ms one way (TCP echo RTT ${rttMs.toFixed(1)} ms): starting ${peerCount} peers`);
    room = await startRoom(model.dir, join(work, 'cache'), model.vocab);
    const r0 = room;
    const single: number[] = [];
    const rates = new Map<number, number[]>(sessions.map((c) => [c, []]));
    const used = new Map<number, number[]>(sessions.map((c) => [c, []]));
    for (let r = 0; r < runs && timeLeft(); r++) {
      for (const c of rotate<'one' | number>(['one', ...sessions], r)) {
        if (!timeLeft()) break;
        if (c === 'one') {
          single.push((await one.decode(benchPrompt(promptLen, r, model.vocab), decodeTokens, `one-${delayMs}-${r}`)).rate);
          continue;
        }
        const from = r0.requester.mark();
        const t = performance.now();
        const gs = await Promise.all(
          Array.from({ length: c }, (_, i) =>
            generateOn(r0.requester, benchPrompt(promptLen, 100 + r * 10 + i, model.vocab), decodeTokens + (c === 1 ? 1 : 0), [], GEN_TIMEOUT_MS),
          ),
        );
        rates.get(c)!.push(c === 1 ? decodeRate((gs[0] as { times: number[] }).times) : (c * decodeTokens) / ((performance.now() - t) / 1000));
        used.get(c)!.push(ringsUsed(r0.requester.events, from));
      }
      console.log(
        `    run ${r + 1}: one process ${single.at(-1)?.toFixed(1)} tok/s; ${sessions.map((c) => `${c} session${c === 1 ? '' : 's'} ${rates.get(c)!.at(-1)?.toFixed(1)}`).join(', ')}`,
      );
    }
    // What the requester charged a ring per session and how its own stage packed (ring-choice.ts).
    const mark = r0.requester.mark();
    r0.requester.command({ cmd: 'status' });
    const st = await r0.requester.waitFor((e) => e.event === 'status', 10_000, 'status', mark);
    console.log(`    requester: session cost ${JSON.stringify(st['sessionCost'])}, links ${JSON.stringify(st['links'])}`);
    await stopRoom(r0);
    room = null;
    const base = median(single);
    const row: Row = { 'one-way delay ms': delayMs, 'echo RTT ms': rttMs, rings: r0.rings.map((x) => x.length).join('+'), 'one process tok/s': base };
    for (const c of sessions) {
      const xs = rates.get(c)!;
      row[`${c} sess tok/s`] = median(xs);
      // Each run's rate over the same run's one-process rate: less exposed to load drifting between runs.
      row[`${c} sess × 1 proc`] = median(xs.map((x, i) => x / (single[i] ?? Number.NaN)));
      row[`${c} sess rings used`] = Math.max(0, ...used.get(c)!);
    }
    row['ready s'] = r0.readyMs / 1000;
    row.load = `${loadBefore.toFixed(1)}→${(loadavg()[0] as number).toFixed(1)}`;
    row.runs = single.length;
    rows.push(row);
    samples.push({ delayMs, rttMs, rings: r0.rings, single, rates: Object.fromEntries(rates), used: Object.fromEntries(used) });
  }
  await one.dispose();
  const truncated = !timeLeft();
  const s = setting(0);
  const net = `one-way delay per packet on loopback (NFQUEUE delay line${s.jitterMs > 0 ? `, ± ${s.jitterMs} ms jitter` : ''}${s.loss > 0 ? `, ${a.loss}% loss` : ''})`;
  printTable(
    `WAN bench: ${conditions}; ${net}; prompt ${promptLen}, ${decodeTokens} greedy tokens; medians of ${runs} interleaved runs${truncated ? ` — STOPPED at --max-minutes ${a['max-minutes']}, fewer samples` : ''}`,
    rows,
  );
  console.log('targets (docs/ring.md, "WAN bench"): at 20 ms one way, 1 session ≥ 0.8× and 8 sessions ≥ 3× the one-process rate');
  writeResults('wan', {
    shape,
    model: a.model,
    dtype: a.dtype,
    peers: peerCount,
    requester: a.requester,
    links,
    threads,
    promptLen,
    decodeTokens,
    runs,
    jitterMs: s.jitterMs,
    lossPct: n(a.loss),
    truncated,
    rows,
    samples,
  });
} finally {
  if (room !== null) await stopRoom(room);
  for (const p of live) p.kill();
  await line?.stop();
  rmSync(work, { recursive: true, force: true });
}
