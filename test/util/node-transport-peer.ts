// A Node peer as its own process, for the transport integration tests and the bench. It joins a
// room through the signaling server and obeys JSON-line commands on stdin; it reports JSON-line
// events on stdout (a `send` tag starting with `~` is counted but not hashed: bench traffic).
// After `close` it releases everything and must exit by itself (no
// process.exit): the test checks that no native handle leaks.
//   node --import tsx test/util/node-transport-peer.ts <signal-url> <room> [direct]
// (`direct`: direct TCP links with other such peers, as `node-peer start` makes on loopback;
// otherwise WebRTC data channels.)
import { createHash, type Hash } from 'node:crypto';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { asPeerId, asRoomId, type PeerId } from '../../shared/ids.ts';
import { createSignalingClient } from '../../shared/signaling/websocket-signaling-client.ts';
import type { WebSocketConstructor } from '../../shared/signaling/web-socket-like.ts';
import type { PeerConnection, Priority } from '../../shared/transport/transport.ts';
import { createNodeTransport } from '../../node-peer/transport/node-transport.ts';
import { patternBytes } from './transfer-pattern.ts';

export type PeerCommand =
  | { cmd: 'connect'; to: string }
  | { cmd: 'send'; to: string; tag: string; bytes: number; seed: number; frameBytes?: number; pauseAt?: number[]; priority?: Priority }
  | { cmd: 'resume'; tag: string }
  | { cmd: 'ping'; to: string; count: number }
  | { cmd: 'close' };

const [url, room, linkMode] = process.argv.slice(2);
const direct = linkMode === 'direct';
if (!url || !room) throw new Error('usage: node-transport-peer.ts <signal-url> <room>');

const emit = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(event)}\n`);
};

const signaling = createSignalingClient({
  url,
  WebSocket: WebSocket as unknown as WebSocketConstructor,
  room: asRoomId(room),
  capabilities: { kind: 'node', engine: 'cpu', memoryBytes: 1 << 30, modelsHeld: [], modelsWanted: [], ...(direct ? { directLinks: true } : {}) },
  backoff: { baseMs: 100, maxMs: 1000 },
});
signaling.on('welcome', (w) => emit({ event: 'welcome', peerId: w.peerId, resumed: w.resumed, members: w.members.map((m) => m.peerId) }));
signaling.on('state', (s) => emit({ event: 'state', state: s.state }));

// Tuning knobs for bench experiments; the defaults are the product's.
const tuning = {
  ...(process.env['RINGMESH_SCTP_SNDBUF'] ? { sctpSendBufferBytes: Number(process.env['RINGMESH_SCTP_SNDBUF']) } : {}),
  sendQueue: {
    ...(process.env['RINGMESH_HIGH_WATER']
      ? { highWaterMark: Number(process.env['RINGMESH_HIGH_WATER']), lowWaterMark: Number(process.env['RINGMESH_HIGH_WATER']) / 4 }
      : {}),
    ...(process.env['RINGMESH_WINDOW'] ? { windowBytes: Number(process.env['RINGMESH_WINDOW']) } : {}),
    ...(process.env['RINGMESH_ACTIVE_WINDOW'] ? { ringActiveWindowBytes: Number(process.env['RINGMESH_ACTIVE_WINDOW']) } : {}),
    ...(process.env['RINGMESH_ACTIVE_MSG'] ? { ringActiveMessageBytes: Number(process.env['RINGMESH_ACTIVE_MSG']) } : {}),
    ...(process.env['RINGMESH_QUIET_MS'] ? { ringQuietMs: Number(process.env['RINGMESH_QUIET_MS']) } : {}),
  },
};
const transport = createNodeTransport({ signaling, bindAddress: '127.0.0.1', directLinks: direct, ...tuning });
const resumers = new Map<string, () => void>();

function watch(conn: PeerConnection, direction: 'in' | 'out'): void {
  emit({ event: 'connected', peer: conn.remotePeerId, direction, link: conn.link });
  const hashes = new Map<string, { hash: Hash; bytes: number }>();
  conn.on('frame', (f) => {
    if (f.type === 'PIECE' && f.unit.startsWith('x:')) {
      const tag = f.unit.slice(2);
      let h = hashes.get(tag);
      if (!h) hashes.set(tag, (h = { hash: createHash('sha256'), bytes: 0 }));
      if (f.offset !== h.bytes) emit({ event: 'error', message: `${tag}: offset ${f.offset}, expected ${h.bytes}` });
      if (!tag.startsWith('~')) h.hash.update(f.data); // `~tag`: bench traffic, counted only
      h.bytes += f.data.byteLength;
    } else if (f.type === 'HAVE' && f.unit.startsWith('x:')) {
      const tag = f.unit.slice(2);
      const h = hashes.get(tag) ?? { hash: createHash('sha256'), bytes: 0 };
      hashes.delete(tag);
      emit({ event: 'received', from: conn.remotePeerId, tag, bytes: h.bytes, sha256: h.hash.digest('hex') });
    }
  });
  conn.on('close', (c) => emit({ event: 'closed', peer: conn.remotePeerId, reason: c.reason }));
}
transport.on('connection', (c) => watch(c, 'in'));

async function send(c: Extract<PeerCommand, { cmd: 'send' }>): Promise<void> {
  const conn = await transport.connect(asPeerId(c.to));
  const step = c.frameBytes ?? 1 << 20;
  // Bench traffic (`~tag`) repeats one frame's worth of bytes: generating hundreds of MiB up front
  // would block the event loop and show up as RTT spikes that are not the transport's.
  const bench = c.tag.startsWith('~');
  const data = patternBytes(bench ? Math.min(step, c.bytes) : c.bytes, c.seed);
  const started = performance.now();
  for (let at = 0; at < c.bytes; at += step) {
    // Pause points let a test act (kill the signaling server…) at a known place mid-transfer.
    if (c.pauseAt?.some((p) => at >= p && at - step < p)) {
      emit({ event: 'paused', tag: c.tag, at });
      await new Promise<void>((r) => resumers.set(c.tag, r));
    }
    const chunk = bench ? data.subarray(0, Math.min(step, c.bytes - at)) : data.subarray(at, Math.min(at + step, c.bytes));
    await conn.send({ type: 'PIECE', requestId: 0, unit: `x:${c.tag}`, piece: 0, offset: at, data: chunk }, c.priority ?? 'bulk');
  }
  await conn.send({ type: 'HAVE', requestId: 0, unit: `x:${c.tag}`, piece: 0 }, c.priority ?? 'bulk');
  // A PING queued after the last chunk returns once the receiver has read everything before it.
  await conn.ping(60_000);
  const ms = performance.now() - started;
  emit({ event: 'sent', to: c.to, tag: c.tag, bytes: c.bytes, ms, sha256: bench ? '' : createHash('sha256').update(data).digest('hex') });
}

async function ping(to: string, count: number): Promise<void> {
  const conn = await transport.connect(asPeerId(to));
  const rtts: number[] = [];
  for (let i = 0; i < count; i++) rtts.push(await conn.ping());
  emit({ event: 'pinged', to, rtts });
}

async function run(c: PeerCommand): Promise<void> {
  switch (c.cmd) {
    case 'connect': {
      const conn = await transport.connect(asPeerId(c.to));
      if (!watched.has(conn.remotePeerId)) {
        watched.add(conn.remotePeerId);
        watch(conn, 'out');
      }
      return;
    }
    case 'send':
      return send(c);
    case 'resume':
      resumers.get(c.tag)?.();
      return;
    case 'ping':
      return ping(c.to, c.count);
    case 'close':
      closing ??= (async () => {
        lines.close();
        process.stdin.destroy();
        await transport.close();
        await signaling.close();
        emit({ event: 'bye' });
      })();
      return closing;
  }
}
let closing: Promise<void> | undefined;
const watched = new Set<PeerId>();
transport.on('connection', (c) => watched.add(c.remotePeerId));

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const c = JSON.parse(line) as PeerCommand;
  run(c).catch((err: unknown) => emit({ event: 'error', cmd: c.cmd, name: (err as Error).name, message: String((err as Error).message) }));
});
// The test runner went away: leave instead of lingering.
lines.on('close', () => void run({ cmd: 'close' }).catch(() => undefined));

await signaling.connect();
