import { networkInterfaces } from 'node:os';
import WebSocket from 'ws';
import { asRoomId } from '../../shared/ids.ts';
import type { UnitName } from '../../shared/model/manifest.ts';
import { unitsForRange } from '../../shared/model/manifest.ts';
import { PieceSwarm } from '../../shared/pieces/piece-swarm.ts';
import type { CorruptPieceError } from '../../shared/pieces/errors.ts';
import type { SchedulerLimits } from '../../shared/pieces/scheduler.ts';
import { systemClock } from '../../shared/util/clock.ts';
import type { SignalingClient } from '../../shared/signaling/signaling-client.ts';
import type { WebSocketConstructor } from '../../shared/signaling/web-socket-like.ts';
import { createSignalingClient } from '../../shared/signaling/websocket-signaling-client.ts';
import { createNodeStore } from '../store/create-node-store.ts';
import { createNodeTransport, defaultDirectLinks } from '../transport/node-transport.ts';
import { defaultBindAddress } from '../transport/default-bind-address.ts';
import type { IceServer } from '../transport/node-data-peer.ts';
import type { PeerConnection } from '../../shared/transport/transport.ts';
import type { PeerTransport } from '../../shared/transport/peer-transport.ts';
import { resolveModel } from './resolve-model.ts';
import type { NodeDevice } from '../engine/ort-node-engine.ts';
import type { Origin } from '../../shared/pieces/origin.ts';
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
  /**
   * Layers [start, end) of this peer's partition; all units when absent; 'none' to start with no
   * units and add them later with `swarm.fetchUnits` (a ring peer, once it has a plan).
   */
  readonly layers?: { start: number; end: number } | 'none';
  /** What this peer announces to the planner (default: a node on CPU with no memory offered). */
  readonly capabilities?: { readonly memoryBytes?: number; readonly speedMsPerLayer?: number; readonly engine?: NodeDevice };
  /** STUN/TURN servers for WebRTC (none by default). */
  readonly iceServers?: readonly IceServer[];
  /** libjuice bind address; default 127.0.0.1 on a loopback-only host, else none (default-bind-address.ts). */
  readonly bindAddress?: string;
  readonly limits?: Partial<SchedulerLimits>;
  /** Bulk bytes in flight per connection while no ring traffic flows (default 1 MiB). */
  readonly bulkWindowBytes?: number;
  /** MTU of WebRTC links to other Node peers (node-transport.ts `nodeLinkMtu`; default by bind address). */
  readonly linkMtu?: number;
  /** Direct TCP links to other Node peers (node-transport.ts `directLinks`; default by bind address). */
  readonly directLinks?: boolean;
  readonly onCorrupt?: (err: CorruptPieceError) => void;
  /** Wraps each peer connection (instrumentation; tests inject faults with it). */
  readonly decorateConnection?: (conn: PeerConnection) => PeerConnection;
}

export interface PiecePeer {
  readonly modelId: string;
  readonly swarm: PieceSwarm;
  readonly signaling: SignalingClient;
  /** The data channels the swarm uses; other layers (the ring) may send their frames on it too. */
  readonly transport: PeerTransport;
  /** This peer's own package (a seed) or the origin, to read files outside the swarm (tokenizer). */
  readonly files?: { read(path: string): Promise<Uint8Array> };
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
  const bindAddress = opts.bindAddress ?? defaultBindAddress(networkInterfaces());
  const directLinks = opts.directLinks ?? defaultDirectLinks(bindAddress);
  const signaling = createSignalingClient({
    url: opts.signalUrl,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    room: asRoomId(model.modelId),
    capabilities: {
      kind: 'node',
      engine: opts.capabilities?.engine ?? 'cpu',
      memoryBytes: opts.capabilities?.memoryBytes ?? 0,
      ...(opts.capabilities?.speedMsPerLayer === undefined ? {} : { speedMsPerLayer: opts.capabilities.speedMsPerLayer }),
      modelsHeld: [],
      modelsWanted: [model.modelId],
      ...(directLinks ? { directLinks: true } : {}),
    },
    ...(opts.joinToken ? { token: opts.joinToken } : {}),
  });
  const transport: PeerTransport = createNodeTransport({
    signaling,
    ...(bindAddress ? { bindAddress } : {}),
    ...(opts.iceServers ? { iceServers: [...opts.iceServers] } : {}),
    // The Node transport's bulk window is 1 MiB already (a page's 256 KiB caps a link at window ÷
    // RTT); ring frames keep their guard, since ring traffic shrinks the window to the ring-active
    // one (docs/wire-protocol.md) whatever this says.
    ...(opts.bulkWindowBytes !== undefined ? { sendQueue: { windowBytes: opts.bulkWindowBytes } } : {}),
    ...(opts.linkMtu !== undefined ? { nodeLinkMtu: opts.linkMtu } : {}),
    directLinks,
  });
  const swarm = new PieceSwarm({
    modelId: model.modelId,
    store,
    ...(model.origin ? { origin: model.origin } : {}),
    ...(model.localPackage ? { localPackage: model.localPackage } : {}),
    units: (m): readonly UnitName[] | 'all' => {
      const layers = opts.layers;
      if (layers === 'none') return [];
      return layers ? unitsForRange(m.architecture.numLayers, layers.start, Math.min(layers.end, m.architecture.numLayers)) : 'all';
    },
    replicaFull: opts.replicaFull,
    self: () => signaling.peerId ?? '',
    clock: systemClock,
    rng: Math.random,
    ...(opts.limits ? { limits: opts.limits } : {}),
    // RINGMESH_TRACE_ORIGIN=1: one stderr line per origin read with the view it was decided on.
    ...(process.env['RINGMESH_TRACE_ORIGIN'] ? { trace: (line: string) => void process.stderr.write(`${line}\n`) } : {}),
  });
  await signaling.connect();
  const unlink = linkSwarmToRoom({ signaling, transport, swarm, ...(opts.decorateConnection ? { decorate: opts.decorateConnection } : {}) });
  await swarm.start();
  return {
    modelId: model.modelId,
    swarm,
    signaling,
    transport,
    ...((model.localPackage ?? model.origin) ? { files: (model.localPackage ?? model.origin) as Origin } : {}),
    async close() {
      unlink();
      swarm.close();
      await transport.close();
      await signaling.close();
    },
  };
}
