// One peer's part in the ring, on any platform (docs/ring.md): follows the server's plans, has
// its stage loaded and served (stage-host.ts), reports `ready`, routes the frames that arrive
// (ring-intake.ts), and serves as a requester. Node and the browser differ only in what they
// inject (engine, transport, unit source).
import type { PeerId } from '../ids.ts';
import { RingPeerNotJoinedError } from './errors.ts';
import type { RingMessage } from './messages.ts';
import { RingLink } from './ring-link.ts';
import { MODEL_REPORT, parseRingPlan, READY_REPORT, readyReportSchema, ringsOf, type ModelReportData, type RingPlan } from './ring-plan.ts';
import { allStagePeers, myLayers } from './my-ring.ts';
import { ReadyRings } from './ready-rings.ts';
import { LinkProbe } from './link-probe.ts';
import { RingRequester } from './ring-requester.ts';
import { DEFAULT_FIRST_TOKEN_MS, DEFAULT_NEXT_TOKEN_MS } from './requester-state.ts';
import { ringMessageLimits } from './ring-message-limits.ts';
import { newSessionId } from './session-id.ts';
import { RingAudits } from './ring-audits.ts';
import { HoldingChallenger } from './holding-challenger.ts';
import { HELD_REPORT, HoldingAttestations } from './readiness.ts';
import { nextStageOf, RingLinkOpener } from './ring-links-ready.ts';
import { RingIntake } from './ring-intake.ts';
import { planStatus } from './ring-peer-status.ts';
import type { RingPeerEvent, RingPeerOptions, RingPeerStatus } from './ring-peer-types.ts';
import { StageHost } from './stage-host.ts';
import { sessionCostMs } from './ring-choice.ts';

export type { RingPeerEvent, RingPeerOptions, RingPeerStatus, UnitSource } from './ring-peer-types.ts';
export { RING_STRIKES } from './ring-intake.ts';

export class RingPeer {
  readonly requester: RingRequester;
  private readonly link: RingLink;
  private plan: { epoch: number; plan: RingPlan } | null = null;
  private readonly ready: ReadyRings;
  private readonly stops: (() => void)[] = [];
  private closed = false;
  private readonly audits: RingAudits;
  private readonly intake: RingIntake;
  private readonly host: StageHost;
  private readonly attestations = new HoldingAttestations();
  private readonly challenger: HoldingChallenger | null;
  private readonly links: RingLinkOpener;
  private readonly probe: LinkProbe;

  constructor(private readonly opts: RingPeerOptions) {
    const self = opts.signaling.peerId;
    if (self === undefined) throw new RingPeerNotJoinedError();
    const limits = ringMessageLimits(opts.manifest, opts.contextTokens);
    this.link = new RingLink({
      transport: opts.transport,
      self: () => opts.signaling.peerId,
      dtype: opts.dtype ?? 'fp32',
      deliver: (m, from) => this.deliver(m, from),
      onPeerLost: (peer, reason) => this.requester.onPeerLost(peer, reason),
      onDrop: (reason, detail) => this.emit({ event: 'frame-dropped', reason, detail }),
      ...(opts.trace ? { trace: opts.trace } : {}),
    });
    this.audits = new RingAudits({
      signaling: opts.signaling,
      engine: opts.engine,
      units: opts.units,
      manifest: opts.manifest,
      clock: opts.clock,
      ...(opts.threads === undefined ? {} : { threads: opts.threads }),
      ...(opts.verify === undefined ? {} : { policy: opts.verify }),
      onVerified: (wire, upTo) => this.requester.onVerified(wire, upTo),
      onFailed: (wire, step, reason) => this.requester.onAuditFailed(wire, step, reason),
      ban: (peer, reason) => this.ban(peer, reason),
      report: (kind, data) => this.report(kind, data),
      onEvicted: (peer, reason) => this.emit({ event: 'peer-evicted', peer, reason }),
      onError: (message) => this.emit({ event: 'error', message }),
    });
    this.links = new RingLinkOpener({
      transport: opts.transport,
      clock: opts.clock,
      onDown: (peer, attempt, reason) => this.emit({ event: 'ring-link-down', epoch: this.plan?.epoch ?? -1, peer, attempt, reason }),
    });
    this.probe = new LinkProbe({
      transport: opts.transport,
      clock: opts.clock,
      report: (kind, data) => this.report(kind, data),
      ...(opts.linkThroughput === undefined ? {} : { throughput: opts.linkThroughput }),
    });
    this.stops.push(() => this.probe.close());
    this.ready = new ReadyRings({
      signaling: opts.signaling,
      links: this.links,
      attestations: this.attestations,
      isCurrent: (epoch) => this.isCurrent(epoch),
      onRingReady: (epoch, ring) => this.emit({ event: 'ring-ready', epoch, ring }),
      onRings: (epoch, rings) => this.requester.onRings(epoch, rings),
    });
    const r = opts.requester ?? {};
    this.requester = new RingRequester({
      config: {
        rttMs: (peer) => opts.transport.connection(peer)?.stats().rttMs,
        sessionMs: () => sessionCostMs(this.host.runTiming()),
        self,
        maxRetries: r.maxRetries ?? 3,
        stepTimeoutMs: r.stepTimeoutMs ?? 30_000,
        replanWaitMs: r.replanWaitMs ?? 120_000,
        firstTokenMs: r.firstTokenMs ?? DEFAULT_FIRST_TOKEN_MS,
        nextTokenMs: r.nextTokenMs ?? DEFAULT_NEXT_TOKEN_MS,
        audit: (ring) => this.audits.shouldAudit(ring),
      },
      send: (to, m) => this.requesterSend(to, m),
      clock: opts.clock,
      newSessionId: () => newSessionId(),
      pickSeed: () => Math.floor(Math.random() * 2 ** 31),
      limits: { vocabSize: opts.manifest.architecture.vocabSize, contextTokens: opts.contextTokens ?? opts.manifest.architecture.contextLength },
    });
    // Subscribed before the plan listener below: a trusted peer announces its challenges before its own `ready`.
    this.challenger =
      opts.pieces === undefined
        ? null
        : new HoldingChallenger({
            modelId: opts.modelId,
            manifest: opts.manifest,
            signaling: opts.signaling,
            probe: opts.pieces,
            clock: opts.clock,
            random: Math.random,
            ...(opts.holding === undefined ? {} : { policy: opts.holding }),
            onResult: (r) => this.emit({ event: 'holding', ...r }),
            onError: (message) => this.emit({ event: 'error', message }),
          });
    if (this.challenger !== null) this.stops.push(() => this.challenger?.close());
    this.intake = new RingIntake({
      self: () => opts.signaling.peerId,
      limits,
      audits: this.audits,
      requester: this.requester,
      runner: () => this.host.runner(),
      isBanned: (peer) => this.link.isBanned(peer),
      ban: (peer, reason) => this.ban(peer, reason),
      emit: (e) => this.emit(e),
    });
    this.host = new StageHost({
      peer: opts,
      self: () => opts.signaling.peerId,
      contextTokens: limits.contextTokens,
      send: (to, m) => this.link.send(to, m),
      current: () => this.plan,
      onServing: (epoch, ring) => this.announceReady(epoch, ring),
      emit: (e) => this.emit(e),
    });
    this.stops.push(
      opts.signaling.on('plan', (p) => this.onPlan(p.epoch, parseRingPlan(p.plan))),
      opts.signaling.on('report', (rep) => {
        if (rep.kind === HELD_REPORT) {
          if (this.attestations.record(rep.from, opts.signaling.members.get(rep.from)?.role === 'trusted', rep.data)) this.checkReady();
          return;
        }
        if (rep.kind !== READY_REPORT) return;
        const ready = readyReportSchema.safeParse(rep.data);
        if (!ready.success) return;
        this.ready.readyEpoch.set(rep.from, ready.data.planEpoch);
        this.checkReady();
      }),
      // After a reconnect the server may have forgotten this member's reports: send them again.
      opts.signaling.on('welcome', () => {
        this.probe.forget();
        this.reportModel();
      }),
    );
    this.reportModel();
  }

  status(): RingPeerStatus {
    const p = this.plan;
    return {
      ...planStatus({
        current: p,
        self: this.opts.signaling.peerId,
        readyRings: p === null ? [] : this.ready.readyOf(p.epoch),
        serves: (layers) => this.host.serves(layers),
        sessions: (peer) => this.requester.load(peer),
      }),
      dropped: this.intake.droppedCounts(),
      banned: this.intake.banned(),
      evicted: this.audits.evictedPeers(),
      measuredSpeeds: this.audits.measuredSpeeds(),
      links: this.probe.links(),
      sessionCost: ((t) => ({ ...t, sessionMs: sessionCostMs(t) }))(this.host.runTiming()),
    };
  }

  /** The requester's messages: the auditor follows audited submissions from their prefill to their end. */
  private requesterSend(to: PeerId, m: RingMessage): void {
    const p = this.plan;
    // The audits follow the submission's own ring: the replica whose stage 0 it goes to.
    const ring = p !== null && p.plan.kind === 'planned' ? ringsOf(p.plan).find((r) => r[0]?.peerId === to) : undefined;
    this.audits.onRequesterSend(m, p !== null && p.plan.kind === 'planned' && ring !== undefined ? { epoch: p.epoch, plan: { ...p.plan, ring } } : null);
    if (m.type === 'prefill' && ring !== undefined) this.emit({ event: 'submitted', wire: m.session, epoch: m.epoch, ring: ring.map((st) => st.peerId) });
    this.link.send(to, m);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.host.stop();
    this.requester.close();
    for (const s of this.stops) s();
    this.link.close();
    await this.audits.close();
    await this.host.close();
  }

  /**
   * Tells the server the model: its manifest, which the server hashes against the room's model id
   * and derives the plan's shape from (a member cannot claim another model or a made-up shape).
   */
  private reportModel(): void {
    const report: ModelReportData = {
      modelId: this.opts.modelId,
      manifest: this.opts.manifest,
      ...(this.opts.contextTokens === undefined ? {} : { contextTokens: this.opts.contextTokens }),
    };
    this.report(MODEL_REPORT, report);
  }

  private report(kind: string, data: unknown): void {
    try {
      this.opts.signaling.report(kind, data);
    } catch (err) {
      // Not joined right now: the welcome after the reconnect re-reports the model; a lost ready
      // report is repeated with the next plan.
      this.emit({ event: 'error', message: `report ${kind}: ${String(err)}` });
    }
  }

  private onPlan(epoch: number, plan: RingPlan | null): void {
    if (this.closed || plan === null || plan.modelId !== this.opts.modelId) return;
    this.plan = { epoch, plan };
    this.intake.onPlanStages(plan.kind === 'planned' ? allStagePeers(plan) : []);
    // Until every stage of this plan is ready, requests wait (and running ones stop).
    this.requester.onPlan(epoch, []);
    if (plan.kind === 'insufficient') {
      this.emit({ event: 'insufficient-memory', epoch, missingBytes: plan.missingBytes });
      this.host.pause();
      return;
    }
    const self = this.opts.signaling.peerId;
    const layers = myLayers(plan, self);
    const rings = ringsOf(plan);
    this.emit({ event: 'plan', epoch, layers, ring: rings.find((r) => r.some((st) => st.peerId === self)) ?? plan.ring, rings });
    // The verifier's copies of the contributors' layers (of every ring) load while the rings do.
    this.audits.onPlan({ ...plan, ring: rings.flat() });
    this.host.onPlan(epoch, plan, layers);
  }

  /**
   * This peer's stage serves `ring` now. It reports `ready` only once its link to the next stage
   * is open: a stage that cannot pass its output on would make the ring take requests it never
   * answers (docs/ring.md, "When a ring is ready").
   */
  private announceReady(epoch: number, ring: readonly PeerId[]): void {
    const next = nextStageOf(ring, this.opts.signaling.peerId as PeerId);
    if (next === null || this.links.isOpen(next)) return this.reportReady(epoch);
    void this.links
      .open(next, () => this.isCurrent(epoch))
      .then((open) => {
        if (open && this.isCurrent(epoch)) this.reportReady(epoch);
      });
  }

  private isCurrent(epoch: number): boolean {
    return !this.closed && this.plan?.epoch === epoch;
  }

  private reportReady(epoch: number): void {
    this.ready.readyEpoch.set(this.opts.signaling.peerId as PeerId, epoch);
    this.report(READY_REPORT, { planEpoch: epoch });
    this.checkReady();
  }

  private checkReady(): void {
    const p = this.plan;
    this.ready.check(p !== null && p.plan.kind === 'planned' ? { epoch: p.epoch, plan: p.plan } : null);
  }

  /** An incoming (or local) ring message from `from`; false when refused outright (ring-intake.ts). */
  private deliver(m: RingMessage, from: PeerId): boolean {
    return !this.closed && this.intake.deliver(m, from);
  }

  private ban(peer: PeerId, reason: string): void {
    this.link.ban(peer, reason);
    this.opts.bans?.ban(peer, reason);
  }

  private emit(e: RingPeerEvent): void {
    this.opts.onEvent?.(e);
  }
}
