// Link MTU agreement (PeerTransportOptions.linkMtu): Node↔Node links offer and adopt the larger
// MTU, links to a peer that says it is a browser keep the default, and data crosses either intact.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { asRoomId } from '../../../shared/ids.ts';
import type { Capabilities } from '../../../shared/signaling/protocol.ts';
import { createSignalingClient } from '../../../shared/signaling/websocket-signaling-client.ts';
import type { SignalingClient } from '../../../shared/signaling/signaling-client.ts';
import type { WebSocketConstructor } from '../../../shared/signaling/web-socket-like.ts';
import type { DataPeerOptions } from '../../../shared/transport/data-peer.ts';
import { TransportConfigError } from '../../../shared/transport/errors.ts';
import { MAX_LINK_MTU, signalEnvelopeSchema } from '../../../shared/transport/signal-envelope.ts';
import type { PeerConnection } from '../../../shared/transport/transport.ts';
import { PeerTransport } from '../../../shared/transport/peer-transport.ts';
import { createNodeDataPeerFactory } from '../../../node-peer/transport/node-data-peer.ts';
import { createNodeTransport, defaultNodeLinkMtu, nodeLinkMtuPolicy } from '../../../node-peer/transport/node-transport.ts';
import { createSignalingServer, type SignalingServer } from '../../../signaling/server.ts';
import { waitForMember } from '../../util/wait-member.ts';

interface Side {
  signaling: SignalingClient;
  transport: PeerTransport;
  made: DataPeerOptions[];
}

let server: SignalingServer;
const sides: Side[] = [];

/** A Node transport (the product's factory and MTU policy) that records the options of each peer it makes. */
async function join(room: string, kind: Capabilities['kind']): Promise<Side> {
  const signaling = createSignalingClient({
    url: server.url,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    room: asRoomId(room),
    capabilities: { kind, engine: 'cpu', memoryBytes: 1 << 30, modelsHeld: [], modelsWanted: [] },
  });
  await signaling.connect();
  const made: DataPeerOptions[] = [];
  const factory = createNodeDataPeerFactory({ bindAddress: '127.0.0.1' });
  const transport = new PeerTransport({
    signaling,
    createPeer: (o) => {
      made.push(o);
      return factory(o);
    },
    linkMtu: nodeLinkMtuPolicy(MAX_LINK_MTU),
  });
  const side = { signaling, transport, made };
  sides.push(side);
  return side;
}

/** The other side learns of `peer` (peer-joined) before it dials, so it knows what `peer` offers. */
const knows = (side: Side, peer: Side): Promise<void> => waitForMember(side.signaling, peer.signaling.peerId!);

/** Sends `bytes` as 64 KiB PIECE frames and resolves with the receiver's SHA-256 and the sender's. */
async function transfer(from: PeerConnection, to: PeerConnection, bytes: number): Promise<{ sent: string; received: string }> {
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (i * 2654435761) >>> 24;
  const got = createHash('sha256');
  let n = 0;
  const done = new Promise<void>((resolve) => {
    const off = to.on('frame', (f) => {
      if (f.type !== 'PIECE') return;
      got.update(f.data);
      n += f.data.byteLength;
      if (n >= bytes) {
        off();
        resolve();
      }
    });
  });
  const step = 64 * 1024;
  for (let at = 0; at < bytes; at += step) {
    await from.send({ type: 'PIECE', requestId: 1, unit: 'layer-000', piece: 0, offset: at, data: data.subarray(at, at + step) }, 'bulk');
  }
  await done;
  return { sent: createHash('sha256').update(data).digest('hex'), received: got.digest('hex') };
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

describe('link MTU', () => {
  it('Node↔Node: the offer carries the larger MTU, the answerer adopts it, 8 MiB cross intact both ways', async () => {
    const a = await join('mtu-1', 'node');
    const b = await join('mtu-1', 'node');
    // No wait for a to hear b's peer-joined: the dial itself waits for it, or it could not tell
    // b is a Node peer and would offer the default.
    const accepted = new Promise<PeerConnection>((resolve) => {
      const off = b.transport.on('connection', (c) => {
        off();
        resolve(c);
      });
    });
    const ab = await a.transport.connect(b.signaling.peerId!, { timeoutMs: 30_000 });
    const ba = await accepted;
    expect(a.made.at(-1)).toEqual({ initiator: true, mtu: MAX_LINK_MTU });
    expect(b.made.at(-1)).toEqual({ initiator: false, mtu: MAX_LINK_MTU });
    const there = await transfer(ab, ba, 8 << 20);
    expect(there.received).toBe(there.sent);
    const back = await transfer(ba, ab, 8 << 20);
    expect(back.received).toBe(back.sent);
  });

  it('a remote that says it is a browser gets the default MTU, on either side of the offer', async () => {
    const node = await join('mtu-2', 'node');
    const browserLike = await join('mtu-2', 'browser');
    await knows(node, browserLike);
    const accepted = new Promise<PeerConnection>((resolve) => {
      const off = browserLike.transport.on('connection', (c) => {
        off();
        resolve(c);
      });
    });
    const out = await node.transport.connect(browserLike.signaling.peerId!, { timeoutMs: 30_000 });
    const inn = await accepted;
    expect(node.made.at(-1)).toEqual({ initiator: true });
    expect(browserLike.made.at(-1)).toEqual({ initiator: false }); // nothing was offered
    const r = await transfer(out, inn, 1 << 20);
    expect(r.received).toBe(r.sent);

    // The other direction: the "browser" offers (to a Node peer: its policy asks for the larger MTU).
    const node2 = await join('mtu-2', 'node');
    await knows(browserLike, node2);
    const back = await browserLike.transport.connect(node2.signaling.peerId!, { timeoutMs: 30_000 });
    expect(browserLike.made.at(-1)).toEqual({ initiator: true, mtu: MAX_LINK_MTU });
    expect(node2.made.at(-1)).toEqual({ initiator: false, mtu: MAX_LINK_MTU });
    expect(await back.ping()).toBeGreaterThanOrEqual(0);
  });

  it('offers the larger MTU by default only when bound to loopback (no IP fragments there)', () => {
    expect(defaultNodeLinkMtu('127.0.0.1')).toBe(MAX_LINK_MTU);
    expect(defaultNodeLinkMtu('::1')).toBe(MAX_LINK_MTU);
    expect(defaultNodeLinkMtu('203.0.113.20')).toBeUndefined();
    expect(defaultNodeLinkMtu('0.0.0.0')).toBeUndefined();
    expect(defaultNodeLinkMtu(undefined)).toBeUndefined();
  });

  it('refuses an MTU outside what the stack was measured to handle, in options and in offers', () => {
    expect(() => createNodeTransport({ signaling: { peerId: undefined, sendSignal: () => undefined, on: () => () => undefined }, nodeLinkMtu: 9000 })).toThrow(
      TransportConfigError,
    );
    expect(() => createNodeTransport({ signaling: { peerId: undefined, sendSignal: () => undefined, on: () => () => undefined }, nodeLinkMtu: 1000 })).toThrow(
      /nodeLinkMtu: 1000/,
    );
    const offer = { rm: 1, attempt: 'x', signal: { type: 'offer', sdp: 'v=0' } };
    expect(signalEnvelopeSchema.safeParse({ ...offer, mtu: 4096 }).success).toBe(true);
    expect(signalEnvelopeSchema.safeParse(offer).success).toBe(true);
    expect(signalEnvelopeSchema.safeParse({ ...offer, mtu: 8192 }).success).toBe(false);
    expect(signalEnvelopeSchema.safeParse({ ...offer, mtu: 576 }).success).toBe(false);
  });
});
