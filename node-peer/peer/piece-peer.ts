// What is Node's in a peer (docs/architecture.md, "One peer core"): the disk store, the model
// resolved from a directory/URL/id, the `ws` signaling client and the Node transport (bind
// address, direct links, ICE servers), RINGMESH_TRACE_ORIGIN. The join itself is the shared
// core's (shared/peer): `startPiecePeer` is a pieces-only peer, node-peer-runtime.ts a ring peer.
import { networkInterfaces } from 'node:os';
import WebSocket from 'ws';
import { asRoomId } from '../../shared/ids.ts';
import type { CorruptPieceError } from '../../shared/pieces/errors.ts';
import type { SchedulerLimits } from '../../shared/pieces/scheduler.ts';
import { peerCapabilities } from '../../shared/peer/capabilities.ts';
import { joinSwarm, type SwarmJoinDeps, type SwarmPeer } from '../../shared/peer/join-swarm.ts';
import { systemClock } from '../../shared/util/clock.ts';
import type { WebSocketConstructor } from '../../shared/signaling/web-socket-like.ts';
import { createSignalingClient } from '../../shared/signaling/websocket-signaling-client.ts';
import type { PeerConnection } from '../../shared/transport/transport.ts';
import type { NodeDevice } from '../engine/ort-node-engine.ts';
import { createNodeStore } from '../store/create-node-store.ts';
import { defaultBindAddress } from '../transport/default-bind-address.ts';
import type { IceServer } from '../transport/node-data-peer.ts';
import { createNodeTransport, defaultDirectLinks } from '../transport/node-transport.ts';
import { resolveModel } from './resolve-model.ts';

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

/** A joined pieces-only peer: the core's swarm half (shared/peer/join-swarm.ts). */
export type PiecePeer = SwarmPeer;

/** The core's join deps for a Node peer: disk store, resolved model, `ws` signaling, Node transport. */
export async function nodeJoinDeps(opts: PiecePeerOptions): Promise<SwarmJoinDeps> {
  const store = await createNodeStore(opts.cacheDir, opts.onCorrupt);
  const model = await resolveModel(opts.model, opts.origin, opts.originToken);
  const bindAddress = opts.bindAddress ?? defaultBindAddress(networkInterfaces());
  const directLinks = opts.directLinks ?? defaultDirectLinks(bindAddress);
  const caps = opts.capabilities;
  return {
    modelId: model.modelId,
    capabilities: peerCapabilities({
      kind: 'node',
      engine: caps?.engine ?? 'cpu',
      modelId: model.modelId,
      ...(caps?.memoryBytes === undefined ? {} : { memoryBytes: caps.memoryBytes }),
      ...(caps?.speedMsPerLayer === undefined ? {} : { speedMsPerLayer: caps.speedMsPerLayer }),
      directLinks,
    }),
    createSignaling: (capabilities) =>
      createSignalingClient({
        url: opts.signalUrl,
        WebSocket: WebSocket as unknown as WebSocketConstructor,
        room: asRoomId(model.modelId),
        capabilities,
        ...(opts.joinToken ? { token: opts.joinToken } : {}),
      }),
    createTransport: (signaling) =>
      createNodeTransport({
        signaling,
        ...(bindAddress ? { bindAddress } : {}),
        ...(opts.iceServers ? { iceServers: [...opts.iceServers] } : {}),
        // The Node transport's bulk window is 1 MiB already (a page's 256 KiB caps a link at window ÷
        // RTT); ring frames keep their guard, since ring traffic shrinks the window to the ring-active
        // one (docs/wire-protocol.md) whatever this says.
        ...(opts.bulkWindowBytes !== undefined ? { sendQueue: { windowBytes: opts.bulkWindowBytes } } : {}),
        ...(opts.linkMtu !== undefined ? { nodeLinkMtu: opts.linkMtu } : {}),
        directLinks,
      }),
    store,
    ...(model.origin ? { origin: model.origin } : {}),
    ...(model.localPackage ? { localPackage: model.localPackage } : {}),
    clock: systemClock,
    rng: Math.random,
    units: opts.layers ?? 'all',
    replicaFull: opts.replicaFull,
    ...(opts.limits ? { limits: opts.limits } : {}),
    // RINGMESH_TRACE_ORIGIN=1: one stderr line per origin read with the view it was decided on.
    ...(process.env['RINGMESH_TRACE_ORIGIN'] ? { traceOrigin: (line: string) => void process.stderr.write(`${line}\n`) } : {}),
    ...(opts.decorateConnection ? { decorateConnection: opts.decorateConnection } : {}),
  };
}

/**
 * A pieces-only Node peer: opens the cache, resolves the model, joins the room named by the model
 * id, connects to the other members and runs the swarm. It keeps serving after its own download is
 * done, until `close()`.
 */
export async function startPiecePeer(opts: PiecePeerOptions): Promise<PiecePeer> {
  return joinSwarm(await nodeJoinDeps(opts));
}
