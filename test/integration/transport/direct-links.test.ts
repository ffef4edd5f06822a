// Direct links (node-peer/transport/tcp-data-peer.ts): Node peers that both make them talk over one
// TCP socket, negotiated through the real signaling server; everyone else keeps WebRTC; a direct
// offer nobody answers falls back to WebRTC; strangers on the listening port are turned away.
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { asRoomId, asSessionId } from '../../../shared/ids.ts';
import { createSignalingClient } from '../../../shared/signaling/websocket-signaling-client.ts';
import type { SignalingClient } from '../../../shared/signaling/signaling-client.ts';
import type { WebSocketConstructor } from '../../../shared/signaling/web-socket-like.ts';
import type { PeerConnection } from '../../../shared/transport/transport.ts';
import type { PeerTransport } from '../../../shared/transport/peer-transport.ts';
import type { Frame } from '../../../shared/wire/frame-types.ts';
import { createNodeTransport } from '../../../node-peer/transport/node-transport.ts';
import { TcpDataPeer } from '../../../node-peer/transport/tcp-data-peer.ts';
import { TcpLinkListener } from '../../../node-peer/transport/tcp-link-listener.ts';
import { createSignalingServer, type SignalingServer } from '../../../signaling/server.ts';
import { waitForMember } from '../../util/wait-member.ts';

interface Side {
  signaling: SignalingClient;
  transport: PeerTransport;
}

let server: SignalingServer;
let sides: Side[] = [];
let room = 0;

/** A Node transport as `node-peer start` makes one; `advertise` is what its hello says. */
async function join(name: string, opts: { directLinks: boolean; advertise?: boolean }): Promise<Side> {
  const signaling = createSignalingClient({
    url: server.url,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    room: asRoomId(name),
    capabilities: {
      kind: 'node',
      engine: 'cpu',
      memoryBytes: 1 << 30,
      modelsHeld: [],
      modelsWanted: [],
      ...((opts.advertise ?? opts.directLinks) ? { directLinks: true } : {}),
    },
  });
  await signaling.connect();
  const transport = createNodeTransport({ signaling, bindAddress: '127.0.0.1', directLinks: opts.directLinks, attemptTimeoutMs: 3_000 });
  const side = { signaling, transport };
  sides.push(side);
  return side;
}

/** The other side learns of `peer` (peer-joined) before it dials, so it knows what `peer` offers. */
const knows = (side: Side, peer: Side): Promise<void> => waitForMember(side.signaling, peer.signaling.peerId!);

async function pair(a: Side, b: Side): Promise<[PeerConnection, PeerConnection]> {
  await knows(a, b);
  const accepted = new Promise<PeerConnection>((resolve) => b.transport.on('connection', resolve));
  const ab = await a.transport.connect(b.signaling.peerId!, { timeoutMs: 30_000 });
  return [ab, await accepted];
}

const pattern = (bytes: number, seed: number): Uint8Array => {
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) data[i] = ((i + seed) * 2654435761) >>> 24;
  return data;
};
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Frames of `type` that `conn` receives until `count` have come. */
function collect(conn: PeerConnection, type: Frame['type'], count: number): Promise<Frame[]> {
  return new Promise((resolve) => {
    const got: Frame[] = [];
    const off = conn.on('frame', (f) => {
      if (f.type !== type) return;
      got.push(f);
      if (got.length === count) {
        off();
        resolve(got);
      }
    });
  });
}

beforeAll(async () => {
  server = await createSignalingServer({ port: 0, host: '127.0.0.1' });
});
afterEach(async () => {
  for (const s of sides) {
    await s.transport.close();
    await s.signaling.close();
  }
  sides = [];
});
afterAll(async () => {
  await server?.close();
});

describe('direct links between Node peers', () => {
  it('carry whole 4 MiB frames both ways, and ring frames that overtake them, over TCP', async () => {
    const name = `direct-${room++}`;
    const [ab, ba] = await pair(await join(name, { directLinks: true }), await join(name, { directLinks: true }));
    expect(ab.link).toBe('tcp');
    expect(ba.link).toBe('tcp');
    const big = [pattern(4 << 20, 1), pattern(4 << 20, 2)];
    const arrivedAtB = collect(ba, 'PIECE', 2);
    const arrivedAtA = collect(ab, 'PIECE', 1);
    const pings: Promise<number>[] = [];
    const sends = [
      ab.send({ type: 'PIECE', requestId: 1, unit: 'layer-000', piece: 0, offset: 0, data: big[0] as Uint8Array }, 'bulk'),
      ab.send({ type: 'PIECE', requestId: 2, unit: 'layer-000', piece: 1, offset: 0, data: big[1] as Uint8Array }, 'bulk'),
      ba.send({ type: 'PIECE', requestId: 3, unit: 'layer-001', piece: 0, offset: 0, data: big[1] as Uint8Array }, 'bulk'),
    ];
    for (let i = 0; i < 5; i++) pings.push(ab.ping(10_000));
    await Promise.all(sends);
    const [atB, atA, rtts] = await Promise.all([arrivedAtB, arrivedAtA, Promise.all(pings)]);
    expect(atB.map((f) => (f.type === 'PIECE' ? sha(f.data) : ''))).toEqual(big.map(sha));
    expect(atA.map((f) => (f.type === 'PIECE' ? sha(f.data) : ''))).toEqual([sha(big[1] as Uint8Array)]);
    expect(rtts.every((ms) => ms >= 0)).toBe(true);
    expect(ab.stats().bytesSent).toBeGreaterThan(8 << 20);

    // An activation arrives as plain, aligned bytes (the ring views them as float32), not as a
    // Node Buffer whose `slice` would share memory.
    const floats = Float32Array.from({ length: 1000 }, (_, i) => i / 7);
    const act = collect(ba, 'ACTIVATION', 1);
    await ab.send(
      {
        type: 'ACTIVATION',
        requestId: 0,
        session: asSessionId('sess-1'),
        step: 3,
        epoch: 2,
        tensor: { dtype: 'fp32', shape: [1, 1000], data: new Uint8Array(floats.buffer) },
      },
      'ring',
    );
    const [a] = await act;
    if (a?.type !== 'ACTIVATION') throw new Error('expected an ACTIVATION');
    expect(Buffer.isBuffer(a.tensor.data)).toBe(false);
    expect(a.tensor.data.byteOffset % 4).toBe(0);
    expect([...new Float32Array(a.tensor.data.buffer, a.tensor.data.byteOffset, 1000)]).toEqual([...floats]);
  });

  it('are not offered to a Node peer that does not make them: WebRTC as before', async () => {
    const name = `direct-${room++}`;
    const [ab, ba] = await pair(await join(name, { directLinks: true }), await join(name, { directLinks: false }));
    expect(ab.link).toBe('webrtc');
    expect(ba.link).toBe('webrtc');
    const data = pattern(256 * 1024, 3);
    const got = collect(ba, 'PIECE', 1);
    await ab.send({ type: 'PIECE', requestId: 1, unit: 'head', piece: 0, offset: 0, data }, 'bulk');
    const [f] = await got;
    expect(f?.type === 'PIECE' && sha(f.data)).toBe(sha(data));
  });

  it('fall back to WebRTC when the remote advertises them but does not answer', async () => {
    const name = `direct-${room++}`;
    const [ab] = await pair(await join(name, { directLinks: true }), await join(name, { directLinks: false, advertise: true }));
    expect(ab.link).toBe('webrtc');
  });

  it('tell the other side when one side closes', async () => {
    const name = `direct-${room++}`;
    const [ab, ba] = await pair(await join(name, { directLinks: true }), await join(name, { directLinks: true }));
    const closed = new Promise((resolve) => ba.on('close', resolve));
    ab.close('test done');
    await closed;
    expect(ba.closed).toBe(true);
    await expect(ba.send({ type: 'PING', requestId: 1, sentAt: 0 }, 'ring')).rejects.toThrow();
  });
});

describe('the direct-link listener', () => {
  it('turns away strangers (no token, a wrong one, a used one) and still links the real dialer', async () => {
    const listener = new TcpLinkListener('127.0.0.1');
    try {
      const { port } = await listener.address();
      const dropped = (bytes: Uint8Array | null): Promise<boolean> =>
        new Promise((resolve) => {
          const s = connect({ host: '127.0.0.1', port }, () => {
            if (bytes) s.write(bytes);
          });
          s.on('close', () => resolve(true));
          s.on('error', () => undefined);
          s.setTimeout(8_000, () => {
            s.destroy();
            resolve(false);
          });
        });
      // A wrong 32-byte token, and garbage shorter than a token followed by silence (dropped after 5 s).
      expect(await Promise.all([dropped(new Uint8Array(32).fill(7)), dropped(new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n'))])).toEqual([true, true]);

      // The real pair: answerer registers its token, dialer presents it.
      const answerer = new TcpDataPeer({ initiator: false, listener });
      const dialer = new TcpDataPeer({ initiator: true, listener: new TcpLinkListener('127.0.0.1') });
      const answers: unknown[] = [];
      answerer.on('signal', (s) => {
        answers.push(s);
        dialer.signal(s);
      });
      dialer.on('signal', (s) => answerer.signal(s));
      const connected = Promise.all([new Promise<void>((r) => dialer.on('connect', r)), new Promise<void>((r) => answerer.on('connect', r))]);
      await connected;
      const got = new Promise<Uint8Array>((r) => answerer.on('data', r));
      dialer.lanes.ring.send(new Uint8Array([1, 2, 3]));
      expect([...(await got)]).toEqual([1, 2, 3]);

      // Replaying the answer's token (a used one) gets nowhere.
      const token = Buffer.from((answers[0] as { token: string }).token, 'hex');
      expect(await dropped(token)).toBe(true);
      dialer.destroy();
      answerer.destroy();
    } finally {
      listener.close();
    }
  }, 30_000);

  it('drops a link whose remote announces a message larger than any ringmesh peer sends', async () => {
    const listener = new TcpLinkListener('127.0.0.1');
    try {
      const answerer = new TcpDataPeer({ initiator: false, listener });
      let answer: { host: string; port: number; token: string } | undefined;
      answerer.on('signal', (s) => {
        answer = s as typeof answer;
      });
      answerer.signal({ type: 'offer', link: 'tcp' });
      while (answer === undefined) await new Promise((r) => setTimeout(r, 5));
      const errors: unknown[] = [];
      answerer.on('error', (e) => errors.push(e));
      const closed = new Promise<void>((r) => answerer.on('close', r));
      const s = connect({ host: answer.host, port: answer.port }, () => {
        const huge = Buffer.alloc(4);
        huge.writeUInt32BE(512 << 20);
        s.write(Buffer.concat([Buffer.from(answer!.token, 'hex'), huge]));
      });
      s.on('error', () => undefined);
      await closed;
      expect(errors.map((e) => (e as Error).name)).toEqual(['MessageTooLargeError']);
      s.destroy();
    } finally {
      listener.close();
    }
  });
});
