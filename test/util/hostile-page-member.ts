// A hostile room member for tests against a browser page: the project's own signaling client and
// WebRTC transport (Node side), with each connection's DataPeer kept so raw bytes can bypass the
// codec, and the page's JS heap read over CDP.
import type { CDPSession, Page } from 'playwright-core';
import WebSocket from 'ws';
import { asRoomId, type PeerId } from '../../shared/ids.ts';
import type { SignalingClient } from '../../shared/signaling/signaling-client.ts';
import type { WebSocketConstructor } from '../../shared/signaling/web-socket-like.ts';
import { createSignalingClient } from '../../shared/signaling/websocket-signaling-client.ts';
import type { DataPeer } from '../../shared/transport/data-peer.ts';
import type { PeerConnection } from '../../shared/transport/transport.ts';
import type { PeerTransport } from '../../shared/transport/peer-transport.ts';
import { rawWebRtcTransport } from './raw-webrtc-transport.ts';

export interface HostileMember {
  readonly id: PeerId;
  readonly signaling: SignalingClient;
  readonly transport: PeerTransport;
  /** The latest plan epoch this member saw. */
  epoch(): number;
  /** The open connection to `remote`, waiting (at most `timeoutMs`) for one to open. */
  opened(remote: PeerId, timeoutMs: number): Promise<PeerConnection>;
  /** The data channels under the open connection to `remote`: raw messages, no codec. */
  raw(remote: PeerId): DataPeer;
  close(): Promise<void>;
}

/** Joins `room` with no memory to offer (never a stage); it dials nobody, members dial it. */
export async function joinHostileMember(url: string, room: string): Promise<HostileMember> {
  let epoch = 0;
  const signaling = createSignalingClient({
    url,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    room: asRoomId(room),
    capabilities: { kind: 'node', engine: 'cpu', memoryBytes: 0, modelsHeld: [], modelsWanted: [] },
  });
  signaling.on('plan', (p) => (epoch = p.epoch));
  signaling.on('welcome', (w) => (epoch = w.epoch));
  const { transport, raw } = rawWebRtcTransport(signaling);
  await signaling.connect();
  return {
    id: signaling.peerId as PeerId,
    signaling,
    transport,
    epoch: () => epoch,
    opened: (remote, timeoutMs) => {
      const now = transport.connection(remote);
      if (now !== undefined && !now.closed) return Promise.resolve(now);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          off();
          reject(new Error(`${remote} did not connect to ${String(signaling.peerId)} within ${timeoutMs} ms`));
        }, timeoutMs);
        const off = transport.on('open', (c) => {
          if (c.remotePeerId !== remote) return;
          clearTimeout(timer);
          off();
          resolve(c);
        });
      });
    },
    raw,
    close: async () => {
      await transport.close();
      await signaling.close();
    },
  };
}

/** Writes messages straight onto the ring channel (the victim may close it midway: later writes throw). */
export function writeRawMessages(peer: DataPeer, messages: readonly Uint8Array[]): void {
  try {
    for (const m of messages) peer.lanes.ring.send(m);
  } catch {
    // the victim already closed the link
  }
}

/** The page main thread's used JS heap after a full garbage collection, bytes (CDP). */
export async function pageHeapBytes(cdp: CDPSession): Promise<number> {
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = await cdp.send('Runtime.getHeapUsage');
  return usedSize;
}

/** A CDP session on `page` (Chromium only). */
export function cdpOf(page: Page): Promise<CDPSession> {
  return page.context().newCDPSession(page);
}
