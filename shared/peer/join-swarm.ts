// The first half of a peer's start (docs/architecture.md, "One peer core"): signaling → transport →
// piece swarm → links to the room's members. A pieces-only peer (a pure seeder) stops here; a
// ring peer goes on in peer-core.ts. Everything platform-specific is injected.
import { asPeerId, type PeerId } from '../ids.ts';
import type { ModelManifest } from '../model/manifest.ts';
import type { Origin } from '../pieces/origin.ts';
import { PieceSwarm } from '../pieces/piece-swarm.ts';
import type { ModelStore } from '../pieces/piece-store.ts';
import { linkSwarmToRoom } from '../pieces/room-links.ts';
import type { SchedulerLimits } from '../pieces/scheduler.ts';
import type { SignalingClient } from '../signaling/signaling-client.ts';
import type { Capabilities } from '../signaling/protocol.ts';
import type { PeerTransport } from '../transport/peer-transport.ts';
import type { PeerConnection } from '../transport/transport.ts';
import type { Clock } from '../util/clock.ts';
import { abortable } from './abortable.ts';
import { PeerStartAbortedError } from './errors.ts';
import { unitsFor, type UnitsPolicy } from './units-policy.ts';

export interface PeerParts {
  readonly signaling: SignalingClient;
  readonly transport: PeerTransport;
  readonly swarm: PieceSwarm;
}

export interface SwarmJoinDeps {
  /** The model id: it names the signaling room. */
  readonly modelId: string;
  /** What this peer announces (capabilities.ts `peerCapabilities`). */
  readonly capabilities: Capabilities;
  readonly createSignaling: (capabilities: Capabilities) => SignalingClient;
  readonly createTransport: (signaling: SignalingClient) => PeerTransport;
  /** Verified piece store (`withVerification`). */
  readonly store: ModelStore;
  /** Where pieces no peer has come from. */
  readonly origin?: Origin;
  /** This peer's own package: it seeds it. */
  readonly localPackage?: Origin;
  readonly clock: Clock;
  readonly rng: () => number;
  /** Units the swarm fetches on its own (a ring peer: 'none', its stage asks for its layers). */
  readonly units: UnitsPolicy;
  /** Also fetch and keep every other unit (a seeding server). */
  readonly replicaFull: boolean;
  readonly limits?: Partial<SchedulerLimits>;
  /** Told why each origin read starts (diagnosing duplicate reads). */
  readonly traceOrigin?: (line: string) => void;
  /** Wraps each peer connection before the swarm sees it (instrumentation; tests inject faults). */
  readonly decorateConnection?: (conn: PeerConnection) => PeerConnection;
  /** Sees the parts before signaling connects (mirror their state, subscribe to server errors). */
  readonly onJoining?: (parts: PeerParts) => void;
  /** Told once signaling welcomed this peer (its id is known), before the swarm links to the room. */
  readonly onConnected?: (parts: PeerParts) => void;
  /** Calls the start off: what it opened is closed and it rejects with PeerStartAbortedError. */
  readonly signal?: AbortSignal;
}

export interface SwarmPeer {
  readonly modelId: string;
  /** This peer's id in the room (known once signaling welcomed it). */
  readonly peerId: PeerId;
  readonly signaling: SignalingClient;
  /** The data channels the swarm uses; the ring sends its frames on it too. */
  readonly transport: PeerTransport;
  readonly swarm: PieceSwarm;
  /** Leaves the room: links, swarm, transport, signaling, in that order. Idempotent. */
  close(): Promise<void>;
}

/**
 * Joins the model's room and runs the swarm: resolves once connected and the swarm started (not
 * waiting for the manifest). It keeps serving pieces until `close()`. A failed or aborted start
 * closes what it opened before rejecting.
 */
export async function joinSwarm(d: SwarmJoinDeps): Promise<SwarmPeer> {
  const signaling = d.createSignaling(d.capabilities);
  const transport = d.createTransport(signaling);
  const swarm = new PieceSwarm({
    modelId: d.modelId,
    store: d.store,
    ...(d.origin === undefined ? {} : { origin: d.origin }),
    ...(d.localPackage === undefined ? {} : { localPackage: d.localPackage }),
    units: (m: ModelManifest) => unitsFor(d.units, m),
    replicaFull: d.replicaFull,
    self: () => signaling.peerId ?? '',
    clock: d.clock,
    rng: d.rng,
    ...(d.limits === undefined ? {} : { limits: d.limits }),
    ...(d.traceOrigin === undefined ? {} : { trace: d.traceOrigin }),
  });
  let unlink: (() => void) | undefined;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      unlink?.();
      swarm.close();
      await transport.close();
      await signaling.close();
    })());
  const aborted = (): Error => new PeerStartAbortedError(d.modelId);
  try {
    d.onJoining?.({ signaling, transport, swarm });
    await abortable(signaling.connect(), d.signal, aborted);
    d.onConnected?.({ signaling, transport, swarm });
    unlink = linkSwarmToRoom({ signaling, transport, swarm, ...(d.decorateConnection === undefined ? {} : { decorate: d.decorateConnection }) });
    await abortable(swarm.start(), d.signal, aborted);
  } catch (err) {
    await close();
    throw err;
  }
  return { modelId: d.modelId, peerId: signaling.peerId ?? asPeerId(''), signaling, transport, swarm, close };
}
