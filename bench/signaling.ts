// `npm run bench -- signaling [--sizes 1000,5000,10000] [--concurrency 100] [--relays 500] [--runs 3]`
// For each size: a fresh `ringmesh-signal` child process (so its memory is measured apart from the
// clients'), that many WebSocket clients on loopback joining one room, then relays between random
// pairs. Reports join latency (hello → welcome), relay latency (signal a → b) and server RSS per
// peer; each size is run --runs times (a fresh server each) and every column is the median of the
// runs. Each run is bounded in time; the fd limit must exceed the size (`ulimit -n`), and the
// server child needs as many fds again.
import { execSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { median, percentile, printTable, writeResults, type Row } from './_report.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return (i >= 0 ? process.argv[i + 1] : undefined) ?? fallback;
};
const sizes = arg('sizes', '1000,5000,10000').split(',').map(Number);
const concurrency = Number(arg('concurrency', '100'));
const relays = Number(arg('relays', '500'));
const runs = Number(arg('runs', '3'));
const budgetMs = Number(arg('budget-ms', '240000'));
const caps = { kind: 'node', engine: 'cpu', memoryBytes: 8 * 2 ** 30, speedMsPerLayer: 2.5, modelsHeld: [], modelsWanted: ['a'.repeat(64)] };

interface Client {
  ws: WebSocket;
  peerId: string;
  onSignal: ((data: unknown) => void) | undefined;
}

const rssBytes = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m?.[1] ? Number(m[1]) * 1024 : Number.NaN;
};
/** User + system CPU seconds of a process so far (Linux clock ticks, 100 Hz). */
const cpuSeconds = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function startServer(size: number): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [
      join(root, 'bin', 'ringmesh-signal.js'),
      '--port',
      '0',
      '--log-level',
      'warn',
      '--max-connections',
      String(size + 100),
      '--max-peers-per-room',
      String(size + 100),
      '--max-connections-per-address',
      String(size + 100),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += String(d);
      const m = /^signaling (\S+)$/m.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  return { child, url };
}

function join1(url: string, joinMs: number[]): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const client: Client = { ws, peerId: '', onSignal: undefined };
    let t0 = 0;
    ws.on('error', reject);
    ws.on('open', () => {
      t0 = performance.now();
      ws.send(JSON.stringify({ type: 'hello', v: 1, room: 'bench', capabilities: caps }));
    });
    ws.on('message', (data) => {
      const text = String(data);
      // Only two frame types matter here; skip parsing the (many) membership frames.
      if (text.startsWith('{"type":"signal"')) client.onSignal?.((JSON.parse(text) as { data: unknown }).data);
      else if (text.startsWith('{"type":"welcome"')) {
        joinMs.push(performance.now() - t0);
        // The id comes first; skip parsing the member list (up to ~250 KB) in the client process.
        client.peerId = /"peerId":"([^"]+)"/.exec(text.slice(0, 200))?.[1] ?? '';
        resolve(client);
      } else if (text.startsWith('{"type":"error"')) reject(new Error(text));
    });
  });
}

async function runSize(size: number): Promise<Row> {
  const { child, url } = await startServer(size);
  const pid = child.pid as number;
  const deadline = Date.now() + budgetMs;
  const clients: Client[] = [];
  try {
    await sleep(500);
    const rssBefore = rssBytes(pid);
    const cpuBefore = cpuSeconds(pid);
    const joinMs: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < size && Date.now() < deadline; i += concurrency) {
      const batch = await Promise.all(Array.from({ length: Math.min(concurrency, size - i) }, () => join1(url, joinMs)));
      clients.push(...batch);
    }
    const joinWallS = (performance.now() - t0) / 1000;
    const joinCpuS = cpuSeconds(pid) - cpuBefore;
    await sleep(1000); // let the last announcement batches drain
    const rssAfter = rssBytes(pid);
    const relayMs: number[] = [];
    for (let k = 0; k < relays && clients.length > 1 && Date.now() < deadline; k++) {
      const a = clients[Math.floor(Math.random() * clients.length)] as Client;
      let b = a;
      while (b === a) b = clients[Math.floor(Math.random() * clients.length)] as Client;
      const start = performance.now();
      const got = new Promise<void>((resolve) => (b.onSignal = () => resolve()));
      a.ws.send(JSON.stringify({ type: 'signal', to: b.peerId, data: { k, sdp: 'v=0 '.repeat(100) } }));
      await got;
      relayMs.push(performance.now() - start);
    }
    return {
      peers: clients.length,
      'join wall s': joinWallS,
      'server CPU s (joins)': joinCpuS,
      'join p50 ms': median(joinMs),
      'join p99 ms': percentile(joinMs, 99),
      'relay p50 ms': median(relayMs),
      'relay p99 ms': percentile(relayMs, 99),
      'server RSS MiB': rssAfter / 2 ** 20,
      'RSS/peer KiB': (rssAfter - rssBefore) / clients.length / 1024,
    };
  } finally {
    child.kill('SIGKILL');
    for (const c of clients) c.ws.terminate();
    await sleep(500);
  }
}

// Each client is one fd here and one in the server child: warn before running into the limit.
const fdLimit = Number(execSync('ulimit -n', { shell: '/bin/sh' }).toString().trim());
const largest = Math.max(...sizes);
if (Number.isFinite(fdLimit) && fdLimit < largest + 200) {
  console.error(`fd limit ${fdLimit} is below ${largest} peers: raise it first (ulimit -n ${largest + 1000}) or pass --sizes`);
  process.exit(2);
}

const rows: Row[] = [];
const all: Row[] = [];
for (const size of sizes) {
  const perRun: Row[] = [];
  for (let r = 0; r < runs; r++) {
    console.error(`signaling bench: ${size} peers, run ${r + 1}/${runs}…`);
    perRun.push({ run: r + 1, ...(await runSize(size)) });
  }
  all.push(...perRun);
  const med: Row = {};
  for (const key of Object.keys(perRun[0] ?? {}).filter((k) => k !== 'run')) med[key] = median(perRun.map((x) => Number(x[key])));
  rows.push(med);
}
printTable(`signaling: one room, ${concurrency} joins in flight, ${relays} sequential relays (loopback), median of ${runs} runs`, rows);
writeResults('signaling', { concurrency, relays, runs, rows, perRun: all });
process.exit(0);
