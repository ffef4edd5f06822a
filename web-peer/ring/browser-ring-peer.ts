// A browser tab's whole part in the ring, without UI, for test pages: the shared peer core
// (shared/peer) with the browser's parts (WebSocket signaling, WebRTC transport) and an injected
// store, origin and engine. The app page uses the same core through controllers/page-session.ts.
import type { Engine } from '../../shared/engine/engine.ts';
import { asRoomId } from '../../shared/ids.ts';
import type { ModelManifest } from '../../shared/model/manifest.ts';
import type { Origin } from '../../shared/pieces/origin.ts';
import type { ModelStore } from '../../shared/pieces/piece-store.ts';
import { peerCapabilities } from '../../shared/peer/capabilities.ts';
import { startPeer } from '../../shared/peer/peer-core.ts';
import type { Requester } from '../../shared/ring/requester.ts';
import type { RingPeerEvent, RingPeerStatus } from '../../shared/ring/ring-peer.ts';
import type { Tokenizer } from '../../shared/tokenizer/tokenizer.ts';
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
  /** Load the tokenizer (origin, else peers) before resolving (default: no; test pages speak token ids). */
  readonly tokenizer?: boolean;
  readonly onEvent?: (e: RingPeerEvent) => void;
}

export interface BrowserRingPeer {
  readonly peerId: string;
  readonly manifest: ModelManifest;
  readonly requester: Requester;
  /** With `tokenizer: true`: the model's tokenizer (null when none came); else null. */
  readonly tokenizer: Tokenizer | null;
  status(): RingPeerStatus;
  close(): Promise<void>;
}

/** Joins the model's room as a browser peer and serves whatever layers plans give this tab. */
export async function startBrowserRingPeer(o: BrowserRingPeerOptions): Promise<BrowserRingPeer> {
  let engineTaken = false;
  const core = await startPeer({
    modelId: o.modelId,
    capabilities: peerCapabilities({ kind: 'browser', engine: o.engine.kind === 'webgpu' ? 'webgpu' : 'wasm', memoryBytes: o.memoryBytes, modelId: o.modelId }),
    createSignaling: (capabilities) =>
      createSignalingClient({ url: o.signalUrl, WebSocket: WebSocket as unknown as WebSocketConstructor, room: asRoomId(o.modelId), capabilities }),
    createTransport: (signaling) => createBrowserTransport({ signaling, iceServers: o.iceServers ?? [] }),
    store: o.store,
    ...(o.origin ? { origin: o.origin } : {}),
    clock: systemClock,
    rng: Math.random,
    units: 'none', // the ring asks for this tab's units once a plan gives it layers
    replicaFull: false,
    createEngine: () => {
      engineTaken = true; // from now on the core disposes it
      return o.engine;
    },
    ring: o.onEvent ? { onEvent: o.onEvent } : {},
    ...(o.manifestTimeoutMs === undefined ? {} : { manifestTimeoutMs: o.manifestTimeoutMs }),
    ...(o.tokenizer === true ? {} : { tokenizerPeerWaitMs: false }),
  }).catch(async (err: unknown) => {
    if (!engineTaken) await o.engine.dispose();
    throw err;
  });
  return {
    peerId: core.peerId,
    manifest: core.manifest,
    requester: core.requester,
    tokenizer: core.tokenizer,
    status: () => core.ring.status(),
    close: () => core.close(),
  };
}
