// `npm run bench -- transport [--runs N (5)] [--only tcp,ws,node,browser-node,browser-browser]`
// Bulk throughput (MB/s) and small-frame RTT (idle and under bulk load on the same connection) for
// ringmesh data channels node↔node, browser↔node, browser↔browser, beside raw TCP and WebSocket on
// loopback, all in one run. WebRTC must stay on loopback: when the machine has any interface
// besides `lo`, the bench re-runs itself inside a fresh network namespace (`unshare -n`).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import os from 'node:os';
import WebSocket from 'ws';
import type { Browser, Page } from 'playwright-core';
import { createSignalingServer, type SignalingServer } from '../signaling/server.ts';
import { startLoopbackStunServer } from '../test/util/loopback-stun-server.ts';
import { PeerProcess } from '../test/util/peer-process.ts';
import { freePort } from '../test/util/signaling-process.ts';
import { ensureTestWebBuild, launchWebRtcChromium, openPeerPage, TEST_WEB_DIR } from '../test/util/webrtc-chromium.ts';
import { median, percentile, printTable, writeResults, type Row } from './_report.ts';

const MiB = 1024 * 1024;
const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const RUNS = Number(flag('runs') ?? 5);
const ONLY = new Set((flag('only') ?? 'tcp,ws,node,browser-node,browser-browser').split(','));
const PINGS = 200;
const PING_ROUNDS = 4;

function reexecIsolated(): never | void {
  const others = Object.keys(os.networkInterfaces()).filter((n) => n !== 'lo');
  if (others.length === 0) return;
  if (process.env['RINGMESH_BENCH_ISOLATED'] === '1') throw new Error(`still not isolated: interfaces ${others.join(', ')}`);
  console.error(`[bench] interfaces ${others.join(', ')} present: re-running inside a loopback-only namespace`);
  const unshare = process.getuid?.() === 0 ? ['-n'] : ['-rn'];
  const r = spawnSync(
    'unshare',
    [...unshare, 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', process.execPath, ...process.execArgv, process.argv[1] ?? 'bench/transport.ts', ...args],
    { stdio: 'inherit', env: { ...process.env, RINGMESH_BENCH_ISOLATED: '1' } },
  );
  process.exit(r.status ?? 1);
}

// ── baselines: a sink in its own process counts bytes and answers 'k' when all arrived ─────────
const SINK = `
import { createServer } from 'node:net';
import { WebSocketServer } from 'ws';
const [kind, port, total] = process.argv.slice(1).map((v, i) => (i ? Number(v) : v));
if (kind === 'tcp') {
  createServer((s) => { let n = 0; s.on('data', (b) => { n += b.length; if (n >= total) { s.write('k'); n = 0; } }); }).listen(port, '127.0.0.1', () => console.log('up'));
} else {
  const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false }, () => console.log('up'));
  wss.on('connection', (ws) => { let n = 0; ws.on('message', (m) => {
    if (m.length < 64) return ws.send(m); // small message: echo (RTT)
    n += m.length; if (n >= total) { ws.send('k'); n = 0; } }); });
}`;

async function startSink(kind: 'tcp' | 'ws', total: number): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--input-type=module', '-e', SINK, kind, String(port), String(total)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await once(child.stdout!, 'data');
  return { port, child };
}

/** One open baseline connection; `runOnce` sends `total` bytes and returns MB/s. */
interface Baseline {
  runOnce(): Promise<number>;
  rtts: number[];
  close(): void;
}

async function openTcp(total: number): Promise<Baseline> {
  const { port, child } = await startSink('tcp', total);
  const sock = connect(port, '127.0.0.1');
  await once(sock, 'connect');
  const block = Buffer.alloc(MiB, 7);
  return {
    rtts: [],
    async runOnce() {
      const t0 = performance.now();
      const ack = once(sock, 'data');
      for (let sent = 0; sent < total; sent += block.length) if (!sock.write(block)) await once(sock, 'drain');
      await ack;
      return total / MiB / ((performance.now() - t0) / 1000);
    },
    close() {
      sock.destroy();
      child.kill();
    },
  };
}

async function openWs(total: number): Promise<Baseline> {
  const { port, child } = await startSink('ws', total);
  const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
  await once(ws, 'open');
  const next = (): Promise<WebSocket.RawData> => once(ws, 'message').then(([m]) => m as WebSocket.RawData);
  const rtts: number[] = [];
  for (let i = 0; i < PINGS; i++) {
    const t = performance.now();
    const echo = next();
    ws.send('p');
    await echo;
    rtts.push(performance.now() - t);
  }
  const block = Buffer.alloc(MiB, 7);
  return {
    rtts,
    async runOnce() {
      const t0 = performance.now();
      const ack = next();
      for (let sent = 0; sent < total; sent += block.length) {
        ws.send(block);
        while (ws.bufferedAmount > 8 * MiB) await new Promise((res) => setTimeout(res, 1));
      }
      await ack;
      return total / MiB / ((performance.now() - t0) / 1000);
    },
    close() {
      ws.close();
      child.kill();
    },
  };
}

// ── ringmesh data channels ───────────────────────────────────────────────────────────────────
interface PathResult {
  mbps: number[];
  idle: number[];
  loaded: number[];
  extra?: Row;
}

/**
 * node↔node bulk runs, each preceded by one run of every baseline, so the data channel and the
 * baselines it is compared with see the same ambient load on this shared machine.
 */
async function nodeNode(signaling: SignalingServer, bulk: number, baselines: Array<{ b: Baseline; mbps: number[] }>, direct = false): Promise<PathResult> {
  const room = direct ? 'bench-nd' : 'bench-nn';
  const peer = (n: string): PeerProcess => PeerProcess.start(n, 'test/util/node-transport-peer.ts', [signaling.url, room, ...(direct ? ['direct'] : [])]);
  const a = peer('a');
  const b = peer('b');
  try {
    await a.waitFor((e) => e.event === 'welcome', 30_000, 'welcome');
    const idB = (await b.waitFor((e) => e.event === 'welcome', 30_000, 'welcome')).peerId as string;
    a.command({ cmd: 'connect', to: idB });
    const connected = await a.waitFor((e) => e.event === 'connected', 30_000, 'connected');
    if (connected.link !== (direct ? 'tcp' : 'webrtc')) throw new Error(`node↔node${direct ? ' direct' : ''}: the link is ${String(connected.link)}`);
    const mbps: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      for (const x of baselines) x.mbps.push(await x.b.runOnce());
      a.command({ cmd: 'send', to: idB, tag: `~t${r}`, bytes: bulk, seed: r + 1 });
      const sent = await a.waitFor((e) => e.event === 'sent' && e.tag === `~t${r}`, 120_000, 'sent');
      mbps.push(bulk / MiB / ((sent.ms as number) / 1000));
    }
    // Idle and loaded pings alternate in rounds, so both see the same ambient load on this
    // shared machine; each loaded round runs its pings while a bulk transfer is under way.
    const idle: number[] = [];
    const loaded: number[] = [];
    for (let round = 0; round < PING_ROUNDS; round++) {
      const idleMark = a.mark();
      a.command({ cmd: 'ping', to: idB, count: PINGS / PING_ROUNDS });
      idle.push(...((await a.waitFor((e) => e.event === 'pinged', 60_000, 'pings', idleMark)).rtts as number[]));
      const loadMark = a.mark();
      a.command({ cmd: 'send', to: idB, tag: `~load${round}`, bytes: bulk / 2, seed: 9 });
      a.command({ cmd: 'ping', to: idB, count: PINGS / PING_ROUNDS });
      loaded.push(...((await a.waitFor((e) => e.event === 'pinged', 120_000, 'pings under load', loadMark)).rtts as number[]));
      await a.waitFor((e) => e.event === 'sent' && e.tag === `~load${round}`, 120_000, 'load sent', loadMark);
    }
    return { mbps, idle, loaded };
  } finally {
    a.kill();
    b.kill();
  }
}

interface PageHandle {
  page: Page;
  peerId: string;
}
const pageSend = (p: PageHandle, to: string, tag: string, bytes: number): Promise<{ ms: number }> =>
  p.page.evaluate(([t, g, n]) => window.ringmesh!.sendPattern(t, g, n, 3), [to, tag, bytes] as const);
const pagePing = (p: PageHandle, to: string, count: number): Promise<number[]> =>
  p.page.evaluate(([t, c]) => window.ringmesh!.ping(t, c), [to, count] as const);
const pageLoadedPing = (p: PageHandle, to: string, bytes: number): Promise<number[]> =>
  p.page.evaluate(
    async ([t, n, c]) => {
      const bulk = window.ringmesh!.sendPattern(t, '~load', n, 5);
      await new Promise((r) => setTimeout(r, 50));
      const rtts = await window.ringmesh!.ping(t, c);
      await bulk;
      return rtts;
    },
    [to, bytes, PINGS] as const,
  );

async function browserNode(signaling: SignalingServer, browser: Browser, bulk: number): Promise<PathResult> {
  const node = PeerProcess.start('node', 'test/util/node-transport-peer.ts', [signaling.url, 'bench-bn']);
  try {
    const nodeId = (await node.waitFor((e) => e.event === 'welcome', 30_000, 'welcome')).peerId as string;
    const page = await openPeerPage(browser, signaling.httpUrl, 'room=bench-bn');
    await page.page.evaluate((to) => window.ringmesh!.connect(to), nodeId);
    const up: number[] = [];
    const down: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      up.push(bulk / MiB / ((await pageSend(page, nodeId, `~u${r}`, bulk)).ms / 1000));
      node.command({ cmd: 'send', to: page.peerId, tag: `~d${r}`, bytes: bulk, seed: r + 1 });
      const sent = await node.waitFor((e) => e.event === 'sent' && e.tag === `~d${r}`, 120_000, 'sent');
      down.push(bulk / MiB / ((sent.ms as number) / 1000));
    }
    const idle = await pagePing(page, nodeId, PINGS);
    const loaded = await pageLoadedPing(page, nodeId, 2 * bulk);
    await page.page.close();
    return { mbps: [...up, ...down], idle, loaded, extra: { 'browser→node MB/s': median(up), 'node→browser MB/s': median(down) } };
  } finally {
    node.kill();
  }
}

async function browserBrowser(signaling: SignalingServer, browser: Browser, bulk: number): Promise<PathResult> {
  const stun = await startLoopbackStunServer();
  try {
    const query = `room=bench-bb&ice=${encodeURIComponent(stun.url)}`;
    const p1 = await openPeerPage(browser, signaling.httpUrl, query);
    const p2 = await openPeerPage(browser, signaling.httpUrl, query);
    await p1.page.evaluate((to) => window.ringmesh!.connect(to), p2.peerId);
    const mbps: number[] = [];
    for (let r = 0; r < RUNS; r++) mbps.push(bulk / MiB / ((await pageSend(p1, p2.peerId, `~b${r}`, bulk)).ms / 1000));
    const idle = await pagePing(p1, p2.peerId, PINGS);
    const loaded = await pageLoadedPing(p1, p2.peerId, 2 * bulk);
    await p1.page.close();
    await p2.page.close();
    return { mbps, idle, loaded };
  } finally {
    await stun.close();
  }
}

// ── main ─────────────────────────────────────────────────────────────────────────────────────
reexecIsolated();
const rows: Row[] = [];
const data: Record<string, unknown> = {};
const rttCols = (idle: number[], loaded: number[]): Row => ({
  'RTT p50 ms': percentile(idle, 50),
  'RTT p99 ms': percentile(idle, 99),
  'bulk RTT p50 ms': percentile(loaded, 50),
  'bulk RTT p99 ms': percentile(loaded, 99),
  'p99 bulk/idle': percentile(loaded, 99) / percentile(idle, 99),
});
const baselines: Array<{ name: string; b: Baseline; mbps: number[] }> = [];
let baselinesClosed = false;
if (ONLY.has('tcp')) baselines.push({ name: 'tcp', b: await openTcp(512 * MiB), mbps: [] });
if (ONLY.has('ws')) baselines.push({ name: 'ws', b: await openWs(128 * MiB), mbps: [] });
// The pages are the build with test hooks (window.ringmesh drives their transfers).
const signaling = await createSignalingServer({ port: 0, staticDir: TEST_WEB_DIR });
let browser: Browser | undefined;
let wsMbps = Number.NaN;
try {
  if (ONLY.has('node')) {
    const r = await nodeNode(signaling, 64 * MiB, baselines);
    data['node-node'] = r;
    rows.push({ path: 'node↔node data channel', 'MB/s': median(r.mbps), ...rttCols(r.idle, r.loaded) });
    // The same two Node processes' link when both make direct links (node-peer start on loopback).
    const d = await nodeNode(signaling, 256 * MiB, [], true);
    data['node-node-direct'] = d;
    rows.push({ path: 'node↔node direct link (TCP)', 'MB/s': median(d.mbps), ...rttCols(d.idle, d.loaded) });
  } else {
    for (let i = 0; i < RUNS; i++) for (const x of baselines) x.mbps.push(await x.b.runOnce());
  }
  for (const x of baselines) x.b.close();
  baselinesClosed = true;
  for (const x of [...baselines].reverse()) {
    data[x.name] = { mbps: x.mbps, rtts: x.b.rtts };
    if (x.name === 'ws') wsMbps = median(x.mbps);
    rows.unshift(
      x.name === 'ws'
        ? { path: 'WebSocket (2 processes)', 'MB/s': median(x.mbps), 'RTT p50 ms': percentile(x.b.rtts, 50), 'RTT p99 ms': percentile(x.b.rtts, 99) }
        : { path: 'raw TCP (2 processes)', 'MB/s': median(x.mbps) },
    );
  }
  if (ONLY.has('node') && !Number.isNaN(wsMbps)) {
    // Each node↔node run follows its own WebSocket run (same ambient load): the ratio of each pair,
    // then the median, is steadier on this shared machine than a ratio of medians.
    const ws = baselines.find((x) => x.name === 'ws')?.mbps ?? [];
    const perRun = (data['node-node'] as PathResult).mbps.map((m, i) => m / (ws[i] ?? Number.NaN));
    data['node-node vs ws per run'] = perRun;
    data['node-node vs ws'] = median(perRun);
  }
  if (ONLY.has('browser-node') || ONLY.has('browser-browser')) {
    ensureTestWebBuild();
    browser = await launchWebRtcChromium();
  }
  if (browser && ONLY.has('browser-node')) {
    const r = await browserNode(signaling, browser, 32 * MiB);
    data['browser-node'] = r;
    rows.push({
      path: 'browser↔node data channel',
      'MB/s': median(r.mbps),
      ...rttCols(r.idle, r.loaded),
      note: `up ${(r.extra?.['browser→node MB/s'] as number).toFixed(1)} / down ${(r.extra?.['node→browser MB/s'] as number).toFixed(1)}`,
    });
  }
  if (browser && ONLY.has('browser-browser')) {
    const r = await browserBrowser(signaling, browser, 32 * MiB);
    data['browser-browser'] = r;
    rows.push({ path: 'browser↔browser data channel', 'MB/s': median(r.mbps), ...rttCols(r.idle, r.loaded) });
  }
} finally {
  // A failed run must not leave the baseline sinks (child processes) behind.
  if (!baselinesClosed) for (const x of baselines) x.b.close();
  await browser?.close();
  await signaling.close();
}
// printTable takes its columns from the first row: give every row every column.
const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
for (const r of rows) for (const c of columns) r[c] ??= '';
printTable(`transport bench (loopback, median of ${RUNS} runs; RTT over ${PINGS} pings)`, rows);
const nn = data['node-node'] as PathResult | undefined;
if (nn) {
  const perRun = (data['node-node vs ws per run'] as number[] | undefined) ?? [];
  const ratio = perRun.length > 0 ? median(perRun) : median(nn.mbps) / wsMbps;
  const rttRatio = percentile(nn.loaded, 99) / percentile(nn.idle, 99);
  const range = perRun.length > 0 ? ` (per run ${perRun.map((x) => `${(100 * x).toFixed(0)}%`).join(', ')})` : '';
  console.log(
    `\ntargets: node↔node ${(100 * ratio).toFixed(0)}% of WebSocket${range} (≥ 50%: ${ratio >= 0.5 ? 'met' : 'NOT met'}); ` +
      `p99 RTT under bulk ${rttRatio.toFixed(1)}× idle (≤ 3×: ${rttRatio <= 3 ? 'met' : 'NOT met'})`,
  );
}
writeResults('transport', { runs: RUNS, pings: PINGS, rows, raw: data });
