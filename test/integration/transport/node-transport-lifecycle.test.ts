// Lifecycle of the Node transport, in one process: on-demand connect, frames and PING both ways,
// connect timeout, close (local and remote) with typed errors, malformed input dropping the peer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { asPeerId, asRoomId, asSessionId } from '../../../shared/ids.ts';
import { createSignalingClient } from '../../../shared/signaling/websocket-signaling-client.ts';
import type { SignalingClient } from '../../../shared/signaling/signaling-client.ts';
import type { WebSocketConstructor } from '../../../shared/signaling/web-socket-like.ts';
import type { DataPeer } from '../../../shared/transport/data-peer.ts';
import { ConnectionClosedError, ConnectTimeoutError, ProtocolViolationError } from '../../../shared/transport/errors.ts';
import type { CloseEvent, PeerConnection } from '../../../shared/transport/transport.ts';
import { PeerTransport } from '../../../shared/transport/peer-transport.ts';
import type { Frame } from '../../../shared/wire/index.ts';
import { createNodeDataPeerFactory } from '../../../node-peer/transport/node-data-peer.ts';
import { createSignalingServer, type SignalingServer } from '../../../signaling/server.ts';

interface Side {
  signaling: SignalingClient;
  transport: PeerTransport;
  peers: DataPeer[];
}

let server: SignalingServer;
const sides: Side[] = [];

async function join(room: string): Promise<Side> {
  const signaling = createSignalingClient({
    url: server.url,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    room: asRoomId(room),
    capabilities: { kind: 'node', engine: 'cpu', memoryBytes: 1 << 30, modelsHeld: [], modelsWanted: [] },
  });
  await signaling.connect();
  const peers: DataPeer[] = [];
  const factory = createNodeDataPeerFactory({ bindAddress: '127.0.0.1' });
  // Keeps each DataPeer so a test can write raw (malformed) bytes under the codec.
  const transport = new PeerTransport({
    signaling,
    createPeer: (o) => {
      const p = factory(o);
      peers.push(p);
      return p;
    },
  });
  const side = { signaling, transport, peers };
  sides.push(side);
  return side;
}

function nextFrame(conn: PeerConnection): Promise<Frame> {
  return new Promise((resolve) => {
    const off = conn.on('frame', (f) => {
      off();
      resolve(f);
    });
  });
}
function closed(conn: PeerConnection): Promise<CloseEvent> {
  return new Promise((resolve) => conn.on('close', resolve));
}
function incoming(side: Side): Promise<PeerConnection> {
  return new Promise((resolve) => {
    const off = side.transport.on('connection', (c) => {
      off();
      resolve(c);
    });
  });
}

beforeAll(async () => {
  server = await createSignalingServer({ port: 0 });
});
afterAll(async () => {
  for (const s of sides) {
    await s.transport.close();
    await s.signaling.close();
  }
  await server.close();
});

describe('Node transport lifecycle', () => {
  it('connects on demand and carries frames and pings both ways', async () => {
    const a = await join('life-1');
    const b = await join('life-1');
    const accepted = incoming(b);
    const ab = await a.transport.connect(b.signaling.peerId!, { timeoutMs: 30_000 });
    const ba = await accepted;
    expect(ba.remotePeerId).toBe(a.signaling.peerId);
    expect(await a.transport.connect(b.signaling.peerId!)).toBe(ab); // one connection per pair

    const token: Frame = { type: 'TOKEN', requestId: 0, session: asSessionId('s'), step: 1, tokenId: 42, logprob: -0.5 };
    const got = nextFrame(ba);
    await ab.send(token);
    expect(await got).toEqual(token);
    const reply = nextFrame(ab);
    await ba.send({ type: 'HAVE', requestId: 3, unit: 'embed', piece: 9 }, 'bulk');
    expect(await reply).toEqual({ type: 'HAVE', requestId: 3, unit: 'embed', piece: 9 });

    expect(await ab.ping()).toBeGreaterThanOrEqual(0);
    expect(await ba.ping()).toBeGreaterThanOrEqual(0);
    expect(ab.stats().framesSent).toBeGreaterThanOrEqual(2);
    expect(ab.stats().rttMs).toBeDefined();
  });

  it('hands frames that arrived before anyone listened to every listener of that turn, in order', async () => {
    const a = await join('life-early');
    const b = await join('life-early');
    const accepted = incoming(b);
    const ab = await a.transport.connect(b.signaling.peerId!);
    const ba = await accepted; // nobody listens to its frames yet
    const sent: Frame[] = [0, 1, 2].map((piece) => ({ type: 'HAVE', requestId: 0, unit: 'embed', piece }));
    for (const f of sent) await ab.send(f, 'bulk');
    const deadline = Date.now() + 10_000;
    while (ba.stats().framesReceived < sent.length) {
      if (Date.now() > deadline) throw new Error('frames never arrived');
      await new Promise((r) => setTimeout(r, 10));
    }
    // Two owners subscribing a few microtasks apart, as the ring (on `open`) and the piece swarm
    // (when `connect()` resolves) do: both must see what arrived before either listened.
    const first: Frame[] = [];
    const second: Frame[] = [];
    ba.on('frame', (f) => first.push(f));
    await Promise.resolve().then(() => Promise.resolve());
    ba.on('frame', (f) => second.push(f));
    const later: Frame = { type: 'HAVE', requestId: 0, unit: 'embed', piece: 3 };
    await ab.send(later, 'bulk');
    const until = Date.now() + 10_000;
    while (second.length < 4 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(first).toEqual([...sent, later]);
    expect(second).toEqual([...sent, later]);
  });

  it('gives up on a peer that never answers with ConnectTimeoutError', async () => {
    const a = await join('life-2');
    await expect(a.transport.connect(asPeerId('nobody-here'), { timeoutMs: 3_000 })).rejects.toBeInstanceOf(ConnectTimeoutError);
  });

  it('surfaces a remote close and rejects later sends with ConnectionClosedError', async () => {
    const a = await join('life-3');
    const b = await join('life-3');
    const accepted = incoming(b);
    const ab = await a.transport.connect(b.signaling.peerId!);
    const ba = await accepted;
    const remoteSaw = closed(ab);
    ba.close('bye');
    const ev = await remoteSaw;
    expect(ev.error).toBeDefined();
    expect(ab.closed).toBe(true);
    await expect(ab.send({ type: 'PING', requestId: 1, sentAt: 1 })).rejects.toBeInstanceOf(ConnectionClosedError);
    expect(a.transport.connection(b.signaling.peerId!)).toBeUndefined();
  });

  it('drops a peer that sends malformed bytes', async () => {
    const a = await join('life-4');
    const b = await join('life-4');
    const accepted = incoming(b);
    await a.transport.connect(b.signaling.peerId!);
    const ba = await accepted;
    const ev = closed(ba);
    a.peers.at(-1)!.lanes.bulk.send(new Uint8Array([0x52, 0x4d, 1, 99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    expect((await ev).error).toBeInstanceOf(ProtocolViolationError);
  });
});
