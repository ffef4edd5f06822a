import WebSocket from 'ws';
import { asRoomId } from '../../shared/ids.ts';
import type { UnitName } from '../../shared/model/manifest.ts';
import { unitsForRange } from '../../shared/model/manifest.ts';
import { PieceSwarm } from '../../shared/pieces/piece-swarm.ts';
import type { CorruptPieceError } from '../../shared/pieces/errors.ts';
import type { SchedulerLimits } from '../../shared/pieces/scheduler.ts';
import { systemClock } from '../../shared/signaling/clock.ts';
import type { SignalingClient } from '../../shared/signaling/signaling-client.ts';
import type { WebSocketConstructor } from '../../shared/signaling/web-socket-like.ts';
import { createSignalingClient } from '../../shared/signaling/websocket-signaling-client.ts';
import { createNodeStore } from '../store/create-node-store.ts';
import { createNodeTransport } from '../transport/node-transport.ts';
import type { PeerConnection } from '../../shared/transport/transport.ts';
import type { WebRtcTransport } from '../../shared/transport/webrtc-transport.ts';
import { resolveModel } from './resolve-model.ts';
import { linkSwarmToRoom } from '../../shared/pieces/room-links.ts';

export interface PiecePeerOptions {
  readonly signalUrl: string;
  /** Directory, http(s) URL or model id. */
  readonly model: string;
  readonly origin?: string;
  readonly originToken?: string;
  readonly joinToken?: string;
  readonly cacheDir: string;
  readonly replicaFull: boolean;
  /** Layers [start, end) of this peer's partition; all units when absent. */
  readonly layers?: { start: number; end: number };
  /** libjuice bind address ('127.0.0.1' on loopback-only hosts and in tests). */
  readonly bindAddress?: string;
  readonly limits?: Partial<SchedulerLimits>;
  readonly onCorrupt?: (err: CorruptPieceError) => void;
  /** Wraps each peer connection (instrumentation; tests inject faults with it). */
  readonly decorateConnection?: (conn: PeerConnection) => PeerConnection;
}

export interface PiecePeer {
  readonly modelId: string;
  readonly swarm: PieceSwarm;
  readonly signaling: SignalingClient;
  close(): Promise<void>;
}

/**
 * The piece-serving part of a node peer: opens the cache, resolves the model, joins the room named
 * by the model id, connects to the other members and runs the swarm. It keeps serving after its
 * own download is done, until `close()`.
 */
export async function startPiecePeer(opts: PiecePeerOptions): Promise<PiecePeer> {
  const store = await createNodeStore(opts.cacheDir, opts.onCorrupt);
  const model = await resolveModel(opts.model, opts.origin, opts.originToken);
  const signaling = createSignalingClient({
    url: opts.signalUrl,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    room: asRoomId(model.modelId),
    capabilities: { kind: 'node', engine: 'cpu', memoryBytes: 0, modelsHeld: [], modelsWanted: [model.modelId] },
    ...(opts.joinToken ? { token: opts.joinToken } : {}),
  });
  const transport: WebRtcTransport = createNodeTransport({ signaling, ...(opts.bindAddress ? { bindAddress: opts.bindAddress } : {}) });
  const swarm = new PieceSwarm({
    modelId: model.modelId,
    store,
    ...(model.origin ? { origin: model.origin } : {}),
    ...(model.localPackage ? { localPackage: model.localPackage } : {}),
    units: (m): readonly UnitName[] | 'all' => (opts.layers ? unitsForRange(m.architecture.numLayers, opts.layers.start, Math.min(opts.layers.end, m.architecture.numLayers)) : 'all'),
    replicaFull: opts.replicaFull,
    self: () => signaling.peerId ?? '',
    clock: systemClock,
    rng: Math.random,
    ...(opts.limits ? { limits: opts.limits } : {}),
  });
  await signaling.connect();
  const unlink = linkSwarmToRoom({ signaling, transport, swarm, ...(opts.decorateConnection ? { decorate: opts.decorateConnection } : {}) });
  await swarm.start();
  return {
    modelId: model.modelId,
    swarm,
    signaling,
    async close() {
      unlink();
      swarm.close();
      await transport.close();
      await signaling.close();
    },
  };
}
