// A browser tab's whole part in the ring, without UI: signaling + WebRTC + piece swarm + this
// tab's stage (engine injected: the Worker engine, WASM or WebGPU) + a requester. The page's
// PageSession (controllers/page-session.ts) does the same with its UI state; test pages use this.
import type { Engine } from '../../shared/engine/engine.ts';
import { asRoomId } from '../../shared/ids.ts';
import type { ModelManifest } from '../../shared/model/manifest.ts';
import type { Origin } from '../../shared/pieces/origin.ts';
import { PieceSwarm } from '../../shared/pieces/piece-swarm.ts';
import type { ModelStore } from '../../shared/pieces/piece-store.ts';
import { linkSwarmToRoom } from '../../shared/pieces/room-links.ts';
import type { Requester } from '../../shared/ring/requester.ts';
import { RingPeer, type RingPeerEvent, type RingPeerStatus } from '../../shared/ring/ring-peer.ts';
import { systemClock } from '../../shared/util/clock.ts';
import type { WebSocketConstructor } from '../../shared/signaling/web-socket-like.ts';
import { createSignalingClient } from '../../shared/signaling/websocket-signaling-client.ts';
import { createBrowserTransport } from '../transport/browser-transport.ts';

export interface BrowserRingPeerOptions {
  readonly signalUrl: string;
  /** The model id (its room); the manifest comes from peers or the origin. */
  readonly modelId: string;
  /** Budget for weights + KV caches, bytes. */
  readonly memoryBytes: number;
  readonly store: ModelStore;
  readonly origin?: Origin;
  readonly engine: Engine;
  readonly iceServers?: readonly RTCIceServer[];
  readonly manifestTimeoutMs?: number;
  readonly onEvent?: (e: RingPeerEvent) => void;
}

export interface BrowserRingPeer {
  readonly peerId: string;
  readonly manifest: ModelManifest;
  readonly requester: Requester;
  status(): RingPeerStatus;
  close(): Promise<void>;
}

/** Joins the model's room as a browser peer and serves whatever layers plans give this tab. */
export async function startBrowserRingPeer(o: BrowserRingPeerOptions): Promise<BrowserRingPeer> {
  const signaling = createSignalingClient({
    url: o.signalUrl,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    room: asRoomId(o.modelId),
    capabilities: {
      kind: 'browser',
      engine: o.engine.kind === 'webgpu' ? 'webgpu' : 'wasm',
      memoryBytes: o.memoryBytes,
      modelsHeld: [],
      modelsWanted: [o.modelId],
    },
  });
  const transport = createBrowserTransport({ signaling, iceServers: o.iceServers ?? [] });
  const swarm = new PieceSwarm({
    modelId: o.modelId,
    store: o.store,
    ...(o.origin ? { origin: o.origin } : {}),
    units: () => [], // the ring asks for this tab's units once a plan gives it layers
    replicaFull: false,
    self: () => signaling.peerId ?? '',
    clock: systemClock,
    rng: Math.random,
  });
  let unlink = (): void => undefined;
  let ring: RingPeer | undefined;
  const close = async (): Promise<void> => {
    await ring?.close();
    unlink();
    swarm.close();
    await transport.close();
    await signaling.close();
    await o.engine.dispose();
  };
  try {
    await signaling.connect();
    unlink = linkSwarmToRoom({ signaling, transport, swarm });
    await swarm.start();
    const manifest = await manifestOf(swarm, o.manifestTimeoutMs ?? 60_000);
    ring = new RingPeer({
      modelId: o.modelId,
      manifest,
      signaling,
      transport,
      engine: o.engine,
      units: swarm,
      bans: swarm,
      clock: systemClock,
      memoryBytes: o.memoryBytes,
      ...(o.onEvent ? { onEvent: o.onEvent } : {}),
    });
    const r = ring;
    return { peerId: signaling.peerId ?? '', manifest, requester: r.requester, status: () => r.status(), close };
  } catch (err) {
    await close();
    throw err;
  }
}

function manifestOf(swarm: PieceSwarm, timeoutMs: number): Promise<ModelManifest> {
  const now = swarm.manifest;
  if (now !== undefined) return Promise.resolve(now);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no manifest from peers or the origin after ${timeoutMs} ms`));
    }, timeoutMs);
    const off = swarm.on('progress', () => {
      if (swarm.manifest === undefined) return;
      clearTimeout(timer);
      off();
      resolve(swarm.manifest);
    });
  });
}
