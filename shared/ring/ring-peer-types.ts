// What RingPeer (ring-peer.ts) takes and tells: its options, events and status, and the unit
// source it loads stages from.
import type { Engine } from '../engine/engine.ts';
import type { RunTimingSnapshot } from '../engine/run-timing.ts';
import type { LayerRange } from '../model/layer-range.ts';
import type { PeerId } from '../ids.ts';
import type { ModelManifest, UnitName } from '../model/manifest.ts';
import type { Clock } from '../util/clock.ts';
import type { SignalingClient } from '../signaling/signaling-client.ts';
import type { Transport } from '../transport/transport.ts';
import type { HoldingResult, PieceProbe } from './holding-challenger.ts';
import type { HoldingPolicy } from './holding-challenges.ts';
import type { RequesterConfig } from './requester-state.ts';
import type { HopTrace } from './ring-link.ts';
import type { PlannedRing } from './ring-plan.ts';
import type { VerifyPolicy } from './ring-verifier.ts';
import type { StageLimits } from './stage-sessions.ts';
import type { MeasuredSpeed } from './stage-timing.ts';
import type { LinkStatus } from './link-probe.ts';

/** Where a stage's unit bytes come from (the piece swarm: local store, peers, origin). */
export interface UnitSource {
  /**
   * Resolves with every unit's verified bytes once all are held (fetching what is missing), in a
   * map of the caller's own: a stage load clears it once the engine has taken the bytes.
   */
  fetchUnits(units: readonly UnitName[]): Promise<Map<UnitName, Uint8Array>>;
}

export type RingPeerEvent =
  /** `ring`: the replica ring this peer is a stage of (else the first); `rings`: every ring, the first first. */
  | {
      readonly event: 'plan';
      readonly epoch: number;
      readonly layers: LayerRange | null;
      readonly ring: PlannedRing['ring'];
      readonly rings: readonly PlannedRing['ring'][];
    }
  /** This requester sent a submission (`wire`: request id and attempt) to the replica ring `ring`. */
  | { readonly event: 'submitted'; readonly wire: string; readonly epoch: number; readonly ring: readonly string[] }
  | { readonly event: 'insufficient-memory'; readonly epoch: number; readonly missingBytes: number }
  | { readonly event: 'stage-loaded'; readonly epoch: number; readonly start: number; readonly end: number; readonly ms: number }
  | { readonly event: 'ring-ready'; readonly epoch: number; readonly ring: readonly string[] }
  /** A link the ring of `epoch` needs (to the next stage, or this requester's to stage 0 or the last) did not open; retried while the plan stands. */
  | { readonly event: 'ring-link-down'; readonly epoch: number; readonly peer: PeerId; readonly attempt: number; readonly reason: string }
  | { readonly event: 'frame-dropped'; readonly reason: string; readonly detail: string }
  | { readonly event: 'peer-banned'; readonly peer: PeerId; readonly strikes: number }
  /** This peer's verifier caught `peer` (docs/ring.md, "Verified compute") and asked the server to evict it. */
  | { readonly event: 'peer-evicted'; readonly peer: PeerId; readonly reason: string }
  /** This trusted peer challenged a contributor stage (docs/ring.md, "Proof of holding"). */
  | ({ readonly event: 'holding' } & HoldingResult)
  | { readonly event: 'error'; readonly message: string };

export interface RingPeerOptions {
  readonly modelId: string;
  readonly manifest: ModelManifest;
  readonly signaling: SignalingClient;
  readonly transport: Transport;
  readonly engine: Engine;
  readonly units: UnitSource;
  readonly clock: Clock;
  readonly threads?: number;
  readonly dtype?: 'fp32' | 'fp16';
  /** Context the ring serves (KV reservation per stage); default the model's. */
  readonly contextTokens?: number;
  readonly sessionIdleMs?: number;
  /** This peer's memory budget (`--memory`): the KV its stage holds stays within what its weights leave. */
  readonly memoryBytes?: number;
  /** Session caps of this peer's stage (defaults: DEFAULT_STAGE_LIMITS). */
  readonly stageLimits?: Partial<Omit<StageLimits, 'kvTokens'>>;
  readonly requester?: Partial<Omit<RequesterConfig, 'self' | 'audit'>>;
  /**
   * Verified compute, when this peer is trusted (docs/ring.md, "Verified compute"): audit rate and
   * what counts as a new contributor; default DEFAULT_VERIFY_POLICY. `rate: 0` turns it off.
   */
  readonly verify?: Partial<VerifyPolicy>;
  readonly onEvent?: (e: RingPeerEvent) => void;
  /** Sees every activation and token sent and received (bench instrumentation). */
  readonly trace?: (e: HopTrace) => void;
  /**
   * This peer's pieces (the swarm): with them a trusted peer challenges contributor stages to prove
   * they hold their units (docs/ring.md, "Proof of holding"); without, it does not challenge.
   */
  readonly pieces?: PieceProbe;
  /** Smoothed bytes/s of piece traffic received from `peer` (the swarm's measure); status shows it per link. */
  readonly linkThroughput?: (peer: PeerId) => number | undefined;
  /**
   * Told of every member this peer bans from the ring (the piece swarm): one ban list, so a banned
   * member is not re-dialed or accepted for pieces either.
   */
  readonly bans?: { ban(peer: string, reason: string): void };
  readonly holding?: Partial<HoldingPolicy>;
}

export interface RingPeerStatus {
  readonly planEpoch: number | null;
  readonly layers: LayerRange | null;
  readonly loaded: boolean;
  /** The replica ring this peer is a stage of (null: none). */
  readonly ring: readonly PeerId[] | null;
  /** The first ready ring of the plan (older readers); `readyRings` has them all. */
  readonly readyRing: readonly PeerId[] | null;
  /** Rings this peer's requester may use now, with its own sessions in flight on each. */
  readonly readyRings: readonly { readonly ring: readonly PeerId[]; readonly sessions: number }[];
  /** This peer's open links: smoothed round trip and whether relayed (link-probe.ts). */
  readonly links: readonly LinkStatus[];
  readonly missingBytes: number | null;
  /** Ring frames dropped since start, by reason (wrong-sender, invalid, busy, stale-epoch, …). */
  readonly dropped: Readonly<Record<string, number>>;
  /** Members this peer stopped talking to after RING_STRIKES refused frames. */
  readonly banned: readonly PeerId[];
  /** What this (trusted, verifying) peer measured of the stages it audited: ms per layer. */
  readonly measuredSpeeds: readonly MeasuredSpeed[];
  /** Members this peer's verifier caught and asked the server to evict. */
  readonly evicted: readonly PeerId[];
  /**
   * What this peer's stage's decode runs cost (lone, and each further packed session; absent
   * without a stage) and what its requester charges a ring per session it has there (ring-choice.ts), ms.
   */
  readonly sessionCost: Partial<RunTimingSnapshot> & { readonly sessionMs: number };
}
