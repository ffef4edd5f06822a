// The requester's verifier (docs/ring.md, "Verified compute"): for an audited submission it
// collects every stage's audit per step, checks each link bit for bit (what a stage reports
// receiving is what its predecessor reports sending, and the last stage's token is the one the
// requester got), re-runs each contributor's step on a shadow copy of its layers and compares
// (verifier.ts). A step is verified once every check of it passed; a failed check names culprits.
import type { LayerRange } from '../model/layer-range.ts';
import type { PeerId, SessionId } from '../ids.ts';
import { joinAuditInputs, rerunProblem } from './audit-rerun.ts';
import type { RingAudit, RingPrefill } from './messages.ts';
import type { ShadowStages } from './shadow-stages.ts';
import { auditDecision, linkCulprits, sameTensor } from './verifier.ts';

export interface VerifyPolicy {
  /** Probability of auditing a submission once every contributor of the ring is established. */
  readonly rate: number;
  /** Verified steps below which a contributor counts as new (its rings are always audited). */
  readonly newSteps: number;
}

/** `--verify-rate` 0.05: docs/ring.md, "Verified compute" (what the bench measured at 0.05, 0.1 and 1). */
export const DEFAULT_VERIFY_POLICY: VerifyPolicy = { rate: 0.05, newSteps: 64 };

export interface RingVerifierOptions {
  readonly shadows: ShadowStages;
  readonly policy: VerifyPolicy;
  /** Whether `peer` is a contributor (not trusted): only contributors are re-run and evicted. */
  readonly isContributor: (peer: PeerId) => boolean;
  readonly random: () => number;
  readonly onVerified: (wire: SessionId, upTo: number) => void;
  readonly onFailed: (wire: SessionId, step: number, culprits: readonly PeerId[], reason: string) => void;
  /** Audited submissions followed at once; the oldest is forgotten beyond it. */
  readonly maxSessions?: number;
}

interface Audited {
  readonly wire: SessionId;
  readonly epoch: number;
  readonly start: number;
  readonly prefill: Int32Array;
  readonly stages: readonly PeerId[];
  readonly ranges: readonly LayerRange[];
  readonly init: RingPrefill['init'];
  readonly contributor: readonly boolean[];
  /** Per step, each stage's audit. */
  readonly audits: Map<number, (RingAudit | undefined)[]>;
  /** Per step, the stages whose re-run matched. */
  readonly rerun: Map<number, Set<number>>;
  /** Tokens the requester received, by step. */
  readonly tokens: Map<number, number>;
  /** Per stage, the step its next audit must be for, and the chain of its re-runs. */
  readonly next: number[];
  readonly chains: Promise<void>[];
  /** Per stage, audits waiting for their re-run. */
  readonly queued: RingAudit[][];
  verifiedUpTo: number;
  done: boolean;
}

export class RingVerifier {
  private readonly sessions = new Map<SessionId, Audited>();
  private readonly verifiedSteps = new Map<PeerId, number>();
  /** Stages of submissions closed lately: their audits still in flight are stale, not offences. */
  private readonly closed = new Map<SessionId, readonly PeerId[]>();

  constructor(private readonly opts: RingVerifierOptions) {}

  /** The requester's audit decision for a new submission to `ring`. */
  shouldAudit(ring: readonly PeerId[]): boolean {
    const contributors = ring.filter((p) => this.opts.isContributor(p));
    return auditDecision(
      contributors.map((p) => this.verifiedSteps.get(p) ?? 0),
      this.opts.policy.newSteps,
      this.opts.policy.rate,
      this.opts.random(),
    );
  }

  /** Steps of `peer` verified so far (status, tests). */
  verified(peer: PeerId): number {
    return this.verifiedSteps.get(peer) ?? 0;
  }

  /** An audited prefill leaves for `stages` (ring order; `ranges` their layers). */
  open(prefill: RingPrefill, stages: readonly PeerId[], ranges: readonly LayerRange[]): void {
    const max = this.opts.maxSessions ?? 256;
    if (this.sessions.size >= max) this.close(this.sessions.keys().next().value as SessionId);
    this.sessions.set(prefill.session, {
      wire: prefill.session,
      epoch: prefill.epoch,
      start: prefill.step,
      prefill: Int32Array.from(prefill.tokens),
      stages,
      ranges,
      init: prefill.init,
      contributor: stages.map((p) => this.opts.isContributor(p)),
      audits: new Map(),
      rerun: new Map(),
      tokens: new Map(),
      next: stages.map(() => prefill.step),
      chains: stages.map(() => Promise.resolve()),
      queued: stages.map(() => []),
      verifiedUpTo: prefill.step,
      done: false,
    });
  }

  /** The submission is over (ended, failed over): its shadow caches are freed. */
  close(wire: SessionId): void {
    const s = this.sessions.get(wire);
    if (s === undefined) return;
    this.sessions.delete(wire);
    if (this.closed.size >= (this.opts.maxSessions ?? 256) * 4) this.closed.delete(this.closed.keys().next().value as SessionId);
    this.closed.set(wire, s.stages);
    s.done = true;
    s.stages.forEach((_, i) => {
      if (s.contributor[i])
        void s.chains[i]
          ?.then(() => this.opts.shadows.get(s.ranges[i] as LayerRange))
          .then(
            (st) => st.freeSession(wire),
            () => undefined,
          );
    });
  }

  /** Whether `from` may send this audit (a stage of an audited submission, at its index). */
  accepts(m: RingAudit, from: PeerId): boolean {
    const s = this.sessions.get(m.session);
    return s !== undefined && s.stages[m.stage] === from && m.epoch === s.epoch;
  }

  /** An audit of a submission closed lately, from one of its stages: late, not forged. */
  isStale(m: RingAudit, from: PeerId): boolean {
    return this.closed.get(m.session)?.[m.stage] === from;
  }

  /** An audit from `from`, already checked with `accepts`. */
  onAudit(m: RingAudit, from: PeerId): void {
    const s = this.sessions.get(m.session);
    if (s === undefined || s.done || !this.accepts(m, from)) return;
    const i = m.stage;
    if (m.step !== s.next[i]) return this.fail(s, m.step, [from], `stage ${i} audited step ${m.step}, expected ${String(s.next[i])}`);
    s.next[i] = m.step + 1;
    const row = s.audits.get(m.step) ?? s.stages.map(() => undefined);
    row[i] = m;
    s.audits.set(m.step, row);
    if (s.contributor[i]) this.rerun(s, m);
    this.evaluate(s, m.step);
  }

  /** The requester took the token of `step` of `wire` (from its last stage). */
  onToken(wire: SessionId, step: number, tokenId: number): void {
    const s = this.sessions.get(wire);
    if (s === undefined || s.done) return;
    s.tokens.set(step, tokenId);
    this.evaluate(s, step);
    this.evaluate(s, step + 1); // stage 0's input of the next step is this token
  }

  /**
   * Queues a contributor's step for its re-run. Steps that pile up while the shadow is busy run as
   * one multi-row run (a prefill-shaped run costs far less than one run per step); a last stage's
   * steps run one by one (its engine returns the logits of the last position only).
   */
  private rerun(s: Audited, m: RingAudit): void {
    const i = m.stage;
    const queue = s.queued[i] as RingAudit[];
    queue.push(m);
    if (queue.length > 1) return; // a queued run will take it
    s.chains[i] = (s.chains[i] as Promise<void>).then(() => this.runQueued(s, i));
  }

  private async runQueued(s: Audited, i: number): Promise<void> {
    const batch = (s.queued[i] as RingAudit[]).splice(0);
    if (s.done || batch.length === 0) return;
    const range = s.ranges[i] as LayerRange;
    const groups = batch.some((m) => m.output.kind === 'token') ? batch.map((m) => [m]) : [batch];
    for (const group of groups) {
      let problem: { step: number; why: string } | null;
      try {
        const stage = await this.opts.shadows.get(range);
        if (s.done) return;
        const out = await stage.run(s.wire, joinAuditInputs(group));
        if (s.done) return;
        problem = rerunProblem(group, out, s.init.sampling);
      } catch (err) {
        // The verifier could not re-run (units, engine): nobody is to blame, the steps replay.
        return this.fail(s, group[0]?.step ?? s.start, [], `re-run of stage ${i} failed: ${String(err)}`);
      }
      if (problem !== null)
        return this.fail(s, problem.step, [s.stages[i] as PeerId], `stage ${i} (layers ${range.start}–${range.end}), step ${problem.step}: ${problem.why}`);
      for (const m of group) {
        const done = s.rerun.get(m.step) ?? new Set<number>();
        done.add(i);
        s.rerun.set(m.step, done);
      }
      for (const m of group) this.evaluate(s, m.step);
    }
  }

  /** Checks what is in for `step`'s links; verifies steps in order once every check passed. */
  private evaluate(s: Audited, step: number): void {
    if (s.done) return;
    const row = s.audits.get(step);
    const last = s.stages.length - 1;
    if (row !== undefined) {
      for (let i = 0; i < row.length; i++) {
        const a = row[i];
        if (a === undefined) continue;
        const sent = i > 0 ? row[i - 1]?.output : step === s.start ? { kind: 'tokens' as const, ids: s.prefill } : tokenOf(s, step - 1);
        if (sent !== undefined && !sameTensor(sent, a.input)) {
          const from = i > 0 ? i - 1 : last;
          const culprits =
            i === 0 && step === s.start
              ? s.contributor[0]
                ? [s.stages[0] as PeerId]
                : []
              : linkCulprits(s.stages[from] as PeerId, s.contributor[from] === true, s.stages[i] as PeerId, s.contributor[i] === true);
          return this.fail(s, step, culprits, `link into stage ${i} at step ${step}: what it reports receiving is not what was sent`);
        }
      }
      const got = s.tokens.get(step);
      const lastOut = row[last]?.output;
      if (got !== undefined && lastOut !== undefined && (lastOut.kind !== 'token' || lastOut.tokenId !== got)) {
        return this.fail(s, step, s.contributor[last] ? [s.stages[last] as PeerId] : [], `the last stage's token of step ${step} is not the one it audited`);
      }
    }
    this.advance(s);
  }

  private complete(s: Audited, step: number): boolean {
    const row = s.audits.get(step);
    if (row === undefined || row.some((a) => a === undefined) || !s.tokens.has(step)) return false;
    if (step > s.start && !s.tokens.has(step - 1)) return false;
    const rerun = s.rerun.get(step);
    return s.contributor.every((c, i) => !c || rerun?.has(i) === true);
  }

  private advance(s: Audited): void {
    let upTo = s.verifiedUpTo;
    const bound = s.audits.size;
    for (let n = 0; n < bound && this.complete(s, upTo); n++) {
      for (const [i, c] of s.contributor.entries())
        if (c) this.verifiedSteps.set(s.stages[i] as PeerId, (this.verifiedSteps.get(s.stages[i] as PeerId) ?? 0) + 1);
      s.audits.delete(upTo);
      s.rerun.delete(upTo);
      upTo++;
    }
    if (upTo === s.verifiedUpTo) return;
    s.verifiedUpTo = upTo;
    this.opts.onVerified(s.wire, upTo);
  }

  private fail(s: Audited, step: number, culprits: readonly PeerId[], reason: string): void {
    if (s.done) return;
    this.close(s.wire);
    this.opts.onFailed(s.wire, step, culprits, reason);
  }
}

function tokenOf(s: Audited, step: number): { readonly kind: 'token'; readonly tokenId: number } | undefined {
  const id = s.tokens.get(step);
  return id === undefined ? undefined : { kind: 'token', tokenId: id };
}
