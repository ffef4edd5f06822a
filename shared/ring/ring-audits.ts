// A trusted requester's side of verified compute (docs/ring.md, "Verified compute"): which
// submissions are audited, the verifier and its shadow copies of the contributors' layers, the
// eviction of a caught cheat, and the stage speeds the audits measure. RingPeer hands it the
// requester's sends and the audits that arrive; everything else about the ring stays there.
import type { Engine } from '../engine/engine.ts';
import type { LayerRange } from '../model/layer-range.ts';
import type { PeerId, SessionId } from '../ids.ts';
import type { ModelManifest } from '../model/manifest.ts';
import type { Clock } from '../util/clock.ts';
import type { SignalingClient } from '../signaling/signaling-client.ts';
import type { RingAudit, RingMessage } from './messages.ts';
import { ringPeers, type PlannedRing } from './ring-plan.ts';
import { DEFAULT_VERIFY_POLICY, RingVerifier, type VerifyPolicy } from './ring-verifier.ts';
import type { UnitSource } from './ring-peer.ts';
import { ShadowStages } from './shadow-stages.ts';
import { MAX_SPEED_ENTRIES, SPEED_REPORT, type SpeedReport } from './speed-report.ts';
import { StageTiming, type MeasuredSpeed } from './stage-timing.ts';

/** How often a verifying peer reports the stage speeds it measured. */
const SPEED_REPORT_MS = 10_000;

export interface RingAuditsOptions {
  readonly signaling: SignalingClient;
  readonly engine: Engine;
  readonly units: UnitSource;
  readonly manifest: ModelManifest;
  readonly clock: Clock;
  readonly threads?: number;
  readonly policy?: Partial<VerifyPolicy>;
  /** Audited steps up to `upTo` checked out: their tokens may reach the caller. */
  readonly onVerified: (wire: SessionId, upTo: number) => void;
  /** An audit failed at `step`: the request replays from its last verified step. */
  readonly onFailed: (wire: SessionId, step: number, reason: string) => void;
  /** Stop talking to a caught member (ring and pieces). */
  readonly ban: (peer: PeerId, reason: string) => void;
  readonly report: (kind: string, data: unknown) => void;
  readonly onEvicted: (peer: PeerId, reason: string) => void;
  readonly onError: (message: string) => void;
}

/** What became of an incoming audit. */
export type AuditIntake = 'taken' | 'stale' | 'refused';

export class RingAudits {
  private readonly policy: VerifyPolicy;
  private readonly shadows: ShadowStages;
  private readonly verifier: RingVerifier;
  private readonly timing = new StageTiming();
  private readonly evicted = new Set<PeerId>();
  private speedTimer: unknown;
  private closed = false;

  constructor(private readonly opts: RingAuditsOptions) {
    this.policy = { ...DEFAULT_VERIFY_POLICY, ...opts.policy };
    this.shadows = new ShadowStages({
      engine: opts.engine,
      units: opts.units,
      manifest: opts.manifest,
      ...(opts.threads === undefined ? {} : { threads: opts.threads }),
    });
    this.verifier = new RingVerifier({
      shadows: this.shadows,
      policy: this.policy,
      isContributor: (peer) => this.isContributor(peer),
      random: Math.random,
      onVerified: (wire, upTo) => opts.onVerified(wire, upTo),
      onFailed: (wire, step, culprits, reason) => this.failed(wire, step, culprits, reason),
    });
    const reportSpeeds = (): void => {
      if (this.closed) return;
      this.reportSpeeds();
      this.speedTimer = opts.clock.setTimeout(reportSpeeds, SPEED_REPORT_MS);
    };
    this.speedTimer = opts.clock.setTimeout(reportSpeeds, SPEED_REPORT_MS);
  }

  /** Whether this peer verifies its submissions: it is a trusted member and verification is on. */
  verifies(): boolean {
    const self = this.opts.signaling.peerId;
    return this.policy.rate > 0 && self !== undefined && this.opts.signaling.members.get(self)?.role === 'trusted';
  }

  /** Whether a submission to `ring` is audited. */
  shouldAudit(ring: readonly PeerId[]): boolean {
    return this.verifies() && this.verifier.shouldAudit(ring);
  }

  /** A new plan: the shadow copies of its contributors' layers load while the ring does. */
  onPlan(plan: PlannedRing): void {
    if (this.verifies()) this.shadows.keep(plan.ring.filter((s) => this.isContributor(s.peerId as PeerId)).map((s) => ({ start: s.start, end: s.end })));
  }

  /** The requester sends `m`: audited submissions are followed from their prefill to their end. */
  onRequesterSend(m: RingMessage, plan: { epoch: number; plan: PlannedRing } | null): void {
    if (m.type === 'prefill' && m.init.audit === true && plan !== null && plan.epoch === m.epoch) {
      const stages = ringPeers(plan.plan);
      const ranges: LayerRange[] = plan.plan.ring.map((s) => ({ start: s.start, end: s.end }));
      this.verifier.open(m, stages, ranges);
      this.timing.follow(m.session, stages, ranges);
    } else if (m.type === 'end') {
      this.verifier.close(m.session);
      this.timing.forget(m.session);
    }
  }

  /** An audit from `from`: only the requester of an audited submission takes them, only from its stages. */
  onAudit(m: RingAudit, from: PeerId): AuditIntake {
    if (!this.verifier.accepts(m, from)) return this.verifier.isStale(m, from) ? 'stale' : 'refused';
    this.timing.record(m.session, m.step, m.stage, this.opts.clock.now());
    this.verifier.onAudit(m, from);
    return 'taken';
  }

  onToken(wire: SessionId, step: number, tokenId: number): void {
    this.verifier.onToken(wire, step, tokenId);
  }

  evictedPeers(): PeerId[] {
    return [...this.evicted];
  }

  measuredSpeeds(): MeasuredSpeed[] {
    return this.timing.measured();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.opts.clock.clearTimeout(this.speedTimer);
    await this.shadows.dispose();
  }

  /** Members without a trusted role (an unknown member counts as one). */
  private isContributor(peer: PeerId): boolean {
    return this.opts.signaling.members.get(peer)?.role !== 'trusted';
  }

  /** A failed audit: its culprits are evicted from the room (and cut off here), the steps replay. */
  private failed(wire: SessionId, step: number, culprits: readonly PeerId[], reason: string): void {
    for (const peer of culprits) {
      if (this.evicted.has(peer)) continue;
      this.evicted.add(peer);
      try {
        this.opts.signaling.evict?.(peer, reason.slice(0, 200));
      } catch (err) {
        this.opts.onError(`evict ${peer}: ${String(err)}`);
      }
      this.opts.ban(peer, 'failed verification');
      this.opts.onEvicted(peer, reason);
    }
    this.opts.onFailed(wire, step, reason);
  }

  /** A verifying peer tells the server what it measured, so contributors are planned on that, not on claims. */
  private reportSpeeds(): void {
    const measured = this.timing.measured().filter((m) => m.peer !== this.opts.signaling.peerId);
    if (!this.verifies() || measured.length === 0) return;
    const report: SpeedReport = { measured: measured.slice(0, MAX_SPEED_ENTRIES).map((m) => ({ peer: m.peer, msPerLayer: m.msPerLayer, samples: m.samples })) };
    this.opts.report(SPEED_REPORT, report);
  }
}
