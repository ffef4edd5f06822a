import type { PeerId } from '../ids.ts';
import type { SignalingClient } from '../signaling/signaling-client.ts';
import type { PeerConnection, Transport } from '../transport/transport.ts';
import type { PieceSwarm } from './piece-swarm.ts';

export interface SwarmLinksOptions {
  readonly signaling: SignalingClient;
  readonly transport: Transport;
  readonly swarm: PieceSwarm;
  /** Re-dial members without a connection this often, ms. */
  readonly reconcileMs?: number;
  readonly maxPeers?: number;
  readonly onError?: (err: unknown) => void;
  /** Wraps each connection before the swarm sees it (instrumentation, fault injection in tests). */
  readonly decorate?: (conn: PeerConnection) => PeerConnection;
}

/**
 * Keeps the swarm connected to the room: every member the signaling server reports is dialed
 * (the transport resolves glare when both sides dial), every connection that opens is handed to
 * the swarm whoever dialed it, and the member list feeds the scheduler's origin assignment.
 * Returns a stop function.
 */
export function linkSwarmToRoom(opts: SwarmLinksOptions): () => void {
  const { signaling, transport, swarm } = opts;
  const dialing = new Set<PeerId>();
  const maxPeers = opts.maxPeers ?? 32;
  const add = (conn: PeerConnection): void => swarm.addConnection(opts.decorate ? opts.decorate(conn) : conn);
  const others = (): PeerId[] => [...signaling.members.keys()].filter((id) => id !== signaling.peerId);

  const dial = (id: PeerId): void => {
    // A banned peer (bad data, a protocol violation) is not dialed again: each dial would cost a handshake.
    if (dialing.has(id) || swarm.isBanned(id) || transport.connection(id) || transport.connections().length >= maxPeers) return;
    dialing.add(id);
    transport
      .connect(id, { timeoutMs: 30_000 })
      .then(add)
      // A member that cannot be reached is retried by the next reconcile; report, don't fail.
      .catch((err: unknown) => opts.onError?.(err))
      .finally(() => dialing.delete(id));
  };
  const reconcile = (beforeMe = false): void => {
    swarm.setMembers(others(), beforeMe);
    for (const id of others()) dial(id);
  };

  const stops = [
    // Every connection as it opens, whichever side and layer dialed it: a ring link dialed by a
    // plan opens before the next reconcile would dial, and that reconcile then sees it open.
    transport.on('open', add),
    signaling.on('welcome', () => reconcile(true)), // a welcome lists who was there before me
    signaling.on('peer-joined', () => swarm.setMembers(others())),
    signaling.on('peer-left', () => swarm.setMembers(others())),
  ];
  for (const conn of transport.connections()) add(conn);
  let stopped = false;
  let timer: unknown;
  let first = true; // linked after the welcome: its members were there before me
  const loop = (): void => {
    if (stopped) return;
    reconcile(first);
    first = false;
    timer = setTimeout(loop, opts.reconcileMs ?? 3000);
  };
  loop();
  return () => {
    stopped = true;
    clearTimeout(timer as Parameters<typeof clearTimeout>[0]);
    for (const s of stops) s();
  };
}
