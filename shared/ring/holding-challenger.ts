// A trusted member's side of the proof of holding (docs/ring.md, "Proof of holding"): when a
// contributor stage reports `ready` for the current plan, ask it for a few random byte ranges of
// the pieces of its units (the piece exchange's ranged REQUEST) and compare them with this
// member's own copy; publish the verdicts as `report held` and ask the server to evict a stage
// that answered wrong. Members without a trusted role do nothing here.
import { sha256Hex } from '../crypto/sha256.ts';
import type { LayerRange } from '../model/layer-range.ts';
import type { PeerId } from '../ids.ts';
import type { ModelManifest } from '../model/manifest.ts';
import type { ProbeAnswer } from '../pieces/range-probe.ts';
import type { Clock } from '../util/clock.ts';
import type { SignalingClient } from '../signaling/signaling-client.ts';
import {
  DEFAULT_HOLDING_POLICY,
  judgeAnswer,
  pickChallenges,
  proofOf,
  stagePieces,
  type AnswerVerdict,
  type Challenge,
  type HoldingPolicy,
} from './holding-challenges.ts';
import { HELD_REPORT, MAX_HELD_LIST, type HeldReport } from './readiness.ts';
import { parseRingPlan, READY_REPORT, readyReportSchema } from './ring-plan.ts';

/** What the challenger needs of the piece swarm (PieceSwarm implements it). */
export interface PieceProbe {
  /** Whether this peer holds the piece (or is reading it in). */
  mayServe(unit: string, index: number): boolean;
  /** This peer's verified bytes of the piece, or undefined. */
  readPiece(unit: string, index: number): Promise<Uint8Array | undefined>;
  /** Asks `peer` for a byte range of a piece; the answer unverified. */
  probePeer(peer: string, unit: string, index: number, offset: number, length: number, timeoutMs: number): Promise<ProbeAnswer>;
}

/** A proof's outcome: `unanswered` when every round went without a verdict (no link, busy). */
export interface HoldingResult {
  readonly peer: PeerId;
  readonly epoch: number;
  readonly outcome: 'proven' | 'failed' | 'unanswered';
  readonly detail: string;
}

export interface HoldingChallengerOptions {
  readonly modelId: string;
  readonly manifest: ModelManifest;
  readonly signaling: SignalingClient;
  readonly probe: PieceProbe;
  readonly clock: Clock;
  readonly random: () => number;
  readonly policy?: Partial<HoldingPolicy>;
  readonly onResult?: (r: HoldingResult) => void;
  readonly onError?: (message: string) => void;
}

/** `held` reports this member may send in a burst, and per second after it (the server allows 2/s, burst 30, for every kind together). */
const REPORT_BURST = 8;
const REPORTS_PER_SECOND = 1;

export class HoldingChallenger {
  private readonly policy: HoldingPolicy;
  private plan: { epoch: number; stages: Map<PeerId, LayerRange> } | null = null;
  private readonly readyEpoch = new Map<PeerId, number>();
  /** Contributor stages of the current plan asked already, and the verdicts so far. */
  private started = new Set<PeerId>();
  private proven = new Set<PeerId>();
  private failed = new Set<PeerId>();
  private readonly stops: (() => void)[] = [];
  private readonly sleeping = new Set<{ handle: unknown; wake: () => void }>();
  private tokens = REPORT_BURST;
  private tokensAt = 0;
  private flushTimer: unknown = undefined;
  private closed = false;

  constructor(private readonly opts: HoldingChallengerOptions) {
    this.policy = { ...DEFAULT_HOLDING_POLICY, ...opts.policy };
    this.tokensAt = opts.clock.now();
    this.stops.push(
      opts.signaling.on('plan', (p) => this.onPlan(p.epoch, p.plan)),
      opts.signaling.on('report', (rep) => {
        if (rep.kind !== READY_REPORT) return;
        const ready = readyReportSchema.safeParse(rep.data);
        if (!ready.success) return;
        this.readyEpoch.set(rep.from, ready.data.planEpoch);
        this.maybeChallenge(rep.from);
      }),
    );
  }

  close(): void {
    this.closed = true;
    for (const s of this.stops) s();
    this.opts.clock.clearTimeout(this.flushTimer);
    for (const s of this.sleeping) {
      this.opts.clock.clearTimeout(s.handle);
      s.wake();
    }
    this.sleeping.clear();
  }

  private trusted(peer: PeerId | undefined): boolean {
    return peer !== undefined && this.opts.signaling.members.get(peer)?.role === 'trusted';
  }

  private onPlan(epoch: number, raw: unknown): void {
    const plan = parseRingPlan(raw);
    if (this.closed || plan === null || plan.modelId !== this.opts.modelId) return;
    this.started = new Set();
    this.proven = new Set();
    this.failed = new Set();
    if (plan.kind !== 'planned') {
      this.plan = null;
      return;
    }
    this.plan = { epoch, stages: new Map(plan.ring.map((s) => [s.peerId as PeerId, { start: s.start, end: s.end }])) };
    // Only this plan's stages matter from now on (ready reports follow their plan): the map stays bounded.
    for (const peer of [...this.readyEpoch.keys()]) if (!this.plan.stages.has(peer)) this.readyEpoch.delete(peer);
    // Announce before this member's own `ready` can go out (its listener runs after this one), so
    // nobody counts this plan's contributors on their word while a challenger is on its way.
    if (this.trusted(this.opts.signaling.peerId) && [...this.plan.stages.keys()].some((p) => !this.trusted(p))) this.publish();
    for (const peer of this.plan.stages.keys()) this.maybeChallenge(peer);
  }

  private maybeChallenge(peer: PeerId): void {
    const p = this.plan;
    const self = this.opts.signaling.peerId;
    if (this.closed || p === null || peer === self || !this.trusted(self) || this.trusted(peer)) return;
    const range = p.stages.get(peer);
    if (range === undefined || this.readyEpoch.get(peer) !== p.epoch || this.started.has(peer)) return;
    this.started.add(peer);
    void this.prove(peer, p.epoch, range).catch((err: unknown) => this.opts.onError?.(`holding challenge of ${peer}: ${String(err)}`));
  }

  private current(epoch: number): boolean {
    return !this.closed && this.plan?.epoch === epoch;
  }

  /** Rounds of challenges until a verdict, `policy.attempts` rounds at most. */
  private async prove(peer: PeerId, epoch: number, range: LayerRange): Promise<void> {
    const pieces = stagePieces(this.opts.manifest, range);
    let last: AnswerVerdict[] = [];
    for (let round = 0; round < this.policy.attempts; round++) {
      if (round > 0) await this.sleep(this.policy.retryMs * 2 ** (round - 1));
      if (!this.current(epoch)) return;
      const picks = pickChallenges(pieces, (ref) => this.opts.probe.mayServe(ref.unit, ref.index), this.policy, this.opts.random);
      last = await Promise.all(picks.map((c) => this.ask(peer, c)));
      if (!this.current(epoch)) return;
      const proof = proofOf(last);
      if (proof.kind === 'proven') return this.settle(peer, epoch, 'proven', `${picks.length} range(s) of [${range.start}, ${range.end})`);
      if (proof.kind === 'failed') return this.settle(peer, epoch, 'failed', proof.detail);
    }
    // Silence through every round (answers that never came) is a refusal too: a stage that cannot
    // answer 64 bytes holds the ring up as surely as one without its units.
    const silent = last.find((v) => v.kind === 'unanswered' && v.silent);
    if (silent !== undefined && silent.kind === 'unanswered')
      return this.settle(peer, epoch, 'failed', `no answer in ${this.policy.attempts} rounds (${silent.detail})`);
    const open = last.find((v) => v.kind === 'unanswered');
    this.opts.onResult?.({
      peer,
      epoch,
      outcome: 'unanswered',
      detail: open !== undefined && open.kind === 'unanswered' ? open.detail : 'no challenge possible',
    });
  }

  private async ask(peer: PeerId, c: Challenge): Promise<AnswerVerdict> {
    let expected: Uint8Array | undefined;
    if (!c.whole) {
      const own = await this.opts.probe.readPiece(c.ref.unit, c.ref.index);
      if (own === undefined || own.byteLength !== c.ref.length)
        return { kind: 'unanswered', detail: `${c.ref.unit}#${c.ref.index}: own copy gone`, silent: false };
      expected = own.subarray(c.offset, c.offset + c.length);
    }
    const answer = await this.opts.probe.probePeer(peer, c.ref.unit, c.ref.index, c.offset, c.length, this.policy.answerTimeoutMs);
    return judgeAnswer(c, answer, expected, sha256Hex);
  }

  private settle(peer: PeerId, epoch: number, outcome: 'proven' | 'failed', detail: string): void {
    (outcome === 'proven' ? this.proven : this.failed).add(peer);
    this.publish();
    this.opts.onResult?.({ peer, epoch, outcome, detail });
    if (outcome !== 'failed') return;
    try {
      this.opts.signaling.evict?.(peer, `failed the proof of holding: ${detail}`.slice(0, 200));
    } catch (err) {
      this.opts.onError?.(`evict ${peer}: ${String(err)}`);
    }
  }

  /** Sends the current plan's verdicts, within this member's report budget (later ones coalesce). */
  private publish(): void {
    if (this.closed || this.plan === null) return;
    const now = this.opts.clock.now();
    this.tokens = Math.min(REPORT_BURST, this.tokens + ((now - this.tokensAt) * REPORTS_PER_SECOND) / 1000);
    this.tokensAt = now;
    if (this.tokens < 1) {
      if (this.flushTimer === undefined) {
        this.flushTimer = this.opts.clock.setTimeout(
          () => {
            this.flushTimer = undefined;
            this.publish();
          },
          Math.ceil(((1 - this.tokens) * 1000) / REPORTS_PER_SECOND),
        );
      }
      return;
    }
    this.tokens -= 1;
    const report: HeldReport = {
      planEpoch: this.plan.epoch,
      proven: [...this.proven].slice(0, MAX_HELD_LIST),
      failed: [...this.failed].slice(0, MAX_HELD_LIST),
    };
    try {
      this.opts.signaling.report(HELD_REPORT, report);
    } catch (err) {
      this.opts.onError?.(`report ${HELD_REPORT}: ${String(err)}`);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const s = { handle: undefined as unknown, wake: resolve };
      s.handle = this.opts.clock.setTimeout(() => {
        this.sleeping.delete(s);
        resolve();
      }, ms);
      this.sleeping.add(s);
    });
  }
}
