// One peer's part in the ring, on any platform (docs/ring.md): follows the server's
// plans, loads this peer's stage (units from the injected source, graph on the injected engine),
// reports `ready`, runs the stage over the transport, and serves as a requester. Node and the
// browser differ only in what they inject (engine, transport, unit source).
import type { Stage } from '../engine/engine.ts';
import type { LayerRange } from '../model/layer-range.ts';
import type { PeerId } from '../ids.ts';
import { unitsForRange } from '../model/manifest.ts';
import type { RingMessage } from './messages.ts';
import { RingLink } from './ring-link.ts';
import { MODEL_REPORT, parseRingPlan, READY_REPORT, readyReportSchema, ringsOf, type ModelReportData, type PlannedRing, type RingPlan } from './ring-plan.ts';
import { allStagePeers, myLayers, myRing, myStage, sameRange } from './my-ring.ts';
import { ReadyRings } from './ready-rings.ts';
import { LinkProbe } from './link-probe.ts';
import { RingRequester } from './ring-requester.ts';
import { DEFAULT_FIRST_TOKEN_MS, DEFAULT_NEXT_TOKEN_MS } from './requester-state.ts';
import { checkRingMessage, ringMessageLimits, type RingMessageLimits } from './ring-message-limits.ts';
import { newSessionId } from './session-id.ts';
import { stageLimitsFor } from './stage-budget.ts';
import { RingStageRunner } from './stage-runner.ts';
import { RingAudits } from './ring-audits.ts';
import { HoldingChallenger } from './holding-challenger.ts';
import { HELD_REPORT, HoldingAttestations } from './readiness.ts';
import { nextStageOf, RingLinkOpener } from './ring-links-ready.ts';
import type { RingPeerEvent, RingPeerOptions, RingPeerStatus } from './ring-peer-types.ts';

export type { RingPeerEvent, RingPeerOptions, RingPeerStatus, UnitSource } from './ring-peer-types.ts';

/**
 * Frames a member may send that are malformed for the model or not its to send before this peer
 * closes its connection and ignores it. Honest peers send none (stale frames after a re-plan are
 * dropped without a strike), so a handful is generous; 16 bounds what a forger gets to try.
 */
export const RING_STRIKES = 16;

interface Loaded {
  readonly range: LayerRange;
  readonly stage: Stage;
}

export class RingPeer {
  readonly requester: RingRequester;
  private readonly link: RingLink;
  private plan: { epoch: number; plan: RingPlan } | null = null;
  private readonly ready: ReadyRings;
  private loaded: Loaded | null = null;
  private runner: RingStageRunner | null = null;
  /** Stage loads run one after another; each checks at its end whether it is still wanted. */
  private loading: Promise<void> = Promise.resolve();
  private readonly stops: (() => void)[] = [];
  private evictTimer: unknown;
  private closed = false;
  private readonly messageLimits: RingMessageLimits;
  private readonly dropped = new Map<string, number>();
  private readonly strikes = new Map<PeerId, number>();
  private readonly audits: RingAudits;
  private lastStages: readonly PeerId[] = [];
  private stagesOfRecentPlans = new Set<PeerId>();
  private readonly attestations = new HoldingAttestations();
  private readonly challenger: HoldingChallenger | null;
  private readonly links: RingLinkOpener;
  private readonly probe: LinkProbe;

  constructor(private readonly opts: RingPeerOptions) {
    const self = opts.signaling.peerId;
    if (self === undefined) throw new Error('RingPeer needs a joined signaling client (its peer id)');
    this.messageLimits = ringMessageLimits(opts.manifest, opts.contextTokens);
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
    this.probe = new LinkProbe({ transport: opts.transport, clock: opts.clock, report: (kind, data) => this.report(kind, data) });
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
    const idleMs = opts.sessionIdleMs ?? 120_000;
    const evict = (): void => {
      if (this.closed) return;
      this.runner?.evictIdle();
      this.evictTimer = opts.clock.setTimeout(evict, Math.max(1000, idleMs / 2));
    };
    this.evictTimer = opts.clock.setTimeout(evict, Math.max(1000, idleMs / 2));
    this.reportModel();
  }

  status(): RingPeerStatus {
    const p = this.plan;
    const self = this.opts.signaling.peerId;
    const layers = p?.plan.kind === 'planned' ? myLayers(p.plan, self) : null;
    const readyRings = p === null ? [] : this.ready.readyOf(p.epoch);
    return {
      planEpoch: p?.epoch ?? null,
      layers,
      loaded: layers === null || (this.runner !== null && sameRange(this.loaded?.range, layers)),
      ring: p?.plan.kind === 'planned' ? myRing(p.plan, self) : null,
      readyRing: readyRings[0] ?? null,
      readyRings: readyRings.map((ring) => ({ ring, sessions: this.requester.load(ring[0] as PeerId) })),
      missingBytes: p?.plan.kind === 'insufficient' ? p.plan.missingBytes : null,
      dropped: Object.fromEntries(this.dropped),
      banned: [...this.strikes].filter(([peer]) => this.link.isBanned(peer)).map(([peer]) => peer),
      evicted: this.audits.evictedPeers(),
      measuredSpeeds: this.audits.measuredSpeeds(),
      links: this.probe.links(),
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
    this.requester.close();
    this.opts.clock.clearTimeout(this.evictTimer);
    for (const s of this.stops) s();
    this.link.close();
    await this.audits.close();
    await this.loading;
    this.runner = null;
    await this.loaded?.stage.dispose();
    this.loaded = null;
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
    // Stages of this plan and the one before may still send stage frames (late ones are dropped as stale).
    const stages = plan.kind === 'planned' ? allStagePeers(plan) : [];
    this.stagesOfRecentPlans = new Set([...this.lastStages, ...stages]);
    this.lastStages = stages;
    // Until every stage of this plan is ready, requests wait (and running ones stop).
    this.requester.onPlan(epoch, []);
    if (plan.kind === 'insufficient') {
      this.emit({ event: 'insufficient-memory', epoch, missingBytes: plan.missingBytes });
      this.runner = null;
      return;
    }
    const self = this.opts.signaling.peerId;
    const layers = myLayers(plan, self);
    const rings = ringsOf(plan);
    this.emit({ event: 'plan', epoch, layers, ring: rings.find((r) => r.some((st) => st.peerId === self)) ?? plan.ring, rings });
    // The verifier's copies of the contributors' layers (of every ring) load while the rings do.
    this.audits.onPlan({ ...plan, ring: rings.flat() });
    if (layers === null) {
      this.runner = null;
      this.loading = this.loading.then(() => this.unload());
      return;
    }
    if (this.loaded !== null && sameRange(this.loaded.range, layers)) {
      this.serve(epoch, plan, this.loaded);
      return;
    }
    this.runner = null; // frames for the old layers stop here; the new stage is not there yet
    this.loading = this.loading
      .then(() => this.load(epoch, layers))
      .catch((err: unknown) => this.emit({ event: 'error', message: `loading layers [${layers.start}, ${layers.end}): ${String(err)}` }));
  }

  private async unload(): Promise<void> {
    const old = this.loaded;
    this.loaded = null;
    await old?.stage.dispose();
  }

  private async load(epoch: number, range: LayerRange): Promise<void> {
    if (this.isStale(epoch, range)) return;
    // Two plans in a row with the same new range queue two loads: the first one did the work.
    if (this.loaded !== null && sameRange(this.loaded.range, range)) return this.serveLatest(range);
    const started = this.opts.clock.now();
    this.runner = null;
    await this.unload(); // free the old layers' memory before taking the new ones
    const units = await this.opts.units.fetchUnits(unitsForRange(this.opts.manifest.architecture.numLayers, range.start, range.end));
    if (this.isStale(epoch, range)) return;
    const stage = await this.opts.engine.loadStage({
      manifest: this.opts.manifest,
      range,
      units,
      ...(this.opts.threads === undefined ? {} : { threads: this.opts.threads }),
    });
    if (this.closed) return void (await stage.dispose());
    this.loaded = { range, stage };
    this.emit({ event: 'stage-loaded', epoch, start: range.start, end: range.end, ms: this.opts.clock.now() - started });
    this.serveLatest(range);
  }

  /** Serves the latest plan with the loaded stage if that plan still gives this peer `range`. */
  private serveLatest(range: LayerRange): void {
    const p = this.plan;
    if (p === null || p.plan.kind !== 'planned' || this.loaded === null) return;
    const mine = myStage(p.plan, this.opts.signaling.peerId);
    if (mine && sameRange(mine, range)) this.serve(p.epoch, p.plan, this.loaded);
  }

  /** A load is stale once the latest plan no longer gives this peer `range`. */
  private isStale(epoch: number, range: LayerRange): boolean {
    const p = this.plan;
    if (this.closed || p === null || p.plan.kind !== 'planned') return true;
    if (p.epoch === epoch) return false;
    const mine = myStage(p.plan, this.opts.signaling.peerId);
    return !(mine && sameRange(mine, range));
  }

  private serve(epoch: number, plan: PlannedRing, loaded: Loaded): void {
    const self = this.opts.signaling.peerId as PeerId;
    // One runner per loaded stage: re-serving a stage after a pause keeps its session bookkeeping,
    // so setPlan frees the caches of sessions from earlier epochs.
    if (this.stageRunner === null || this.runnerStage !== loaded.stage) {
      this.stageRunner = new RingStageRunner({
        self,
        stage: loaded.stage,
        numLayers: plan.numLayers,
        send: (to, m) => this.link.send(to, m),
        clock: this.opts.clock,
        idleMs: this.opts.sessionIdleMs ?? 120_000,
        limits: stageLimitsFor({
          manifest: this.opts.manifest,
          range: loaded.range,
          contextTokens: this.messageLimits.contextTokens,
          ...(this.opts.memoryBytes === undefined ? {} : { memoryBytes: this.opts.memoryBytes }),
          ...(this.opts.stageLimits === undefined ? {} : { caps: this.opts.stageLimits }),
        }),
      });
      this.runnerStage = loaded.stage;
    }
    // This peer's stage serves its own replica ring (docs/ring.md, "Replica rings").
    const ring = myRing(plan, self) ?? [];
    this.runner = this.stageRunner;
    this.runner.setPlan(epoch, ring);
    // `ready` only once the link to the next stage is open: a stage that cannot pass its output on
    // would make the ring take requests it never answers (docs/ring.md, "When a ring is ready").
    const next = nextStageOf(ring, self);
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

  private runnerStage: Stage | null = null;
  private stageRunner: RingStageRunner | null = null;

  private checkReady(): void {
    const p = this.plan;
    this.ready.check(p !== null && p.plan.kind === 'planned' ? { epoch: p.epoch, plan: p.plan } : null);
  }

  /**
   * Routes an incoming (or local) ring message from `from` to this peer's stage and/or requester.
   * Returns false when it was refused outright (malformed for this model, or from a peer that may
   * not send it).
   */
  private deliver(m: RingMessage, from: PeerId): boolean {
    if (this.closed) return false;
    const invalid = checkRingMessage(m, this.messageLimits);
    if (invalid !== null) {
      this.refused(from, 'invalid', `${m.session} from ${from}: ${invalid}`);
      return false;
    }
    // Activations, tokens and a stage's ends or failure reports come only from stages: a member
    // that is a stage of neither the current plan nor the one before has no business sending them.
    const fromStage =
      m.type === 'activation' || m.type === 'token' || m.type === 'failure' || (m.type === 'end' && m.reason !== 'done' && m.reason !== 'cancelled');
    if (fromStage && from !== this.opts.signaling.peerId && !this.stagesOfRecentPlans.has(from)) {
      this.refused(from, 'not-a-stage', `${m.session}: ${m.type} from ${from}, which is no stage of the current or previous plan`);
      return false;
    }
    const toRunner =
      m.type === 'prefill' || m.type === 'activation' || m.type === 'token' || (m.type === 'end' && (m.reason === 'done' || m.reason === 'cancelled'));
    if (m.type === 'audit') {
      // Only the requester of an audited submission takes audits, and only from its stages.
      const intake = this.audits.onAudit(m, from);
      if (intake === 'stale') this.count('stale-audit', `${m.session}: audit of step ${m.step} after the submission closed`);
      if (intake === 'refused')
        this.refused(from, 'wrong-sender', `${m.session}: audit of stage ${m.stage} from ${from}, which is no stage of an audited submission here`);
      return intake !== 'refused';
    }
    const toRequester =
      m.type === 'token' || m.type === 'failure' || (m.type === 'end' && (m.reason === 'evicted' || m.reason === 'failed' || m.reason === 'busy'));
    // The stage first: a token is the next step's input on stage 0, so it is admitted (and its run
    // queued) before the requester's bookkeeping and its consumer's work take the event loop.
    const runner = this.runner;
    let accepted = toRequester;
    let stageRefused = false;
    if (toRunner && runner !== null) {
      stageRefused = runner.senderProblem(m, from) !== null;
      accepted ||= !stageRefused;
      // A token may be meant for this peer's requester only: the stage refusing it is no offence then.
      if (stageRefused && !toRequester) this.strike(from);
      void runner.handle(m, from).then((outcome) => {
        // Tokens reach every role of a peer; the stage ignoring one meant for the requester is normal.
        if (outcome.kind === 'dropped' && m.type !== 'token') this.count(outcome.reason, outcome.detail);
      });
    } else if (toRunner && m.type !== 'token') {
      this.count('no-stage', `${m.session}: ${m.type} while this peer has no loaded stage`);
    }
    if (toRequester) {
      const drop = this.requester.onMessage(m, from);
      if (drop === null && m.type === 'token') this.audits.onToken(m.session, m.step, m.tokenId);
      if (drop === 'wrong-sender' || (stageRefused && drop !== null))
        this.refused(from, 'wrong-sender', `${m.session}: ${m.type} from ${from}, which neither this stage nor this requester takes from it`);
    }
    return accepted;
  }

  private count(reason: string, detail: string): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + 1);
    this.emit({ event: 'frame-dropped', reason, detail });
  }

  /** A frame `from` had no business sending: counted, and a strike against its sender. */
  private refused(from: PeerId, reason: string, detail: string): void {
    this.count(reason, detail);
    this.strike(from);
  }

  private strike(peer: PeerId): void {
    if (peer === this.opts.signaling.peerId || this.link.isBanned(peer)) return;
    const n = (this.strikes.get(peer) ?? 0) + 1;
    this.strikes.set(peer, n);
    if (n < RING_STRIKES) return;
    this.ban(peer, `${n} refused ring frames`);
    this.emit({ event: 'peer-banned', peer, strikes: n });
  }

  private ban(peer: PeerId, reason: string): void {
    this.link.ban(peer, reason);
    this.opts.bans?.ban(peer, reason);
  }

  private emit(e: RingPeerEvent): void {
    this.opts.onEvent?.(e);
  }
}
