// Where a ring frame that reached this peer goes (docs/ring.md, docs/security.md): checked
// against the model's limits, then to this peer's stage, its requester or its verifier by kind
// and sender. Frames a member had no business sending are counted and struck against it; at
// RING_STRIKES the member is banned.
import type { PeerId } from '../ids.ts';
import type { RingMessage } from './messages.ts';
import type { RingAudits } from './ring-audits.ts';
import { checkRingMessage, type RingMessageLimits } from './ring-message-limits.ts';
import type { RingPeerEvent } from './ring-peer-types.ts';
import type { RingRequester } from './ring-requester.ts';
import type { RingStageRunner } from './stage-runner.ts';

/**
 * Frames a member may send that are malformed for the model or not its to send before this peer
 * closes its connection and ignores it. Honest peers send none (stale frames after a re-plan are
 * dropped without a strike), so a handful is generous; 16 bounds what a forger gets to try.
 */
export const RING_STRIKES = 16;

/** Which roles of a peer a frame is for, and whether only stages may send it. Audits go to the verifier alone. */
export interface FrameRoute {
  /** Activations, tokens and a stage's ends or failure reports: only stages send these. */
  readonly fromStage: boolean;
  readonly toStage: boolean;
  readonly toRequester: boolean;
}

export function frameRoute(m: RingMessage): FrameRoute {
  const requesterEnd = m.type === 'end' && (m.reason === 'done' || m.reason === 'cancelled');
  return {
    fromStage: m.type === 'activation' || m.type === 'token' || m.type === 'failure' || (m.type === 'end' && !requesterEnd),
    toStage: m.type === 'prefill' || m.type === 'activation' || m.type === 'token' || requesterEnd,
    toRequester: m.type === 'token' || m.type === 'failure' || (m.type === 'end' && (m.reason === 'evicted' || m.reason === 'failed' || m.reason === 'busy')),
  };
}

export interface RingIntakeOptions {
  readonly self: () => PeerId | undefined;
  readonly limits: RingMessageLimits;
  readonly audits: Pick<RingAudits, 'onAudit' | 'onToken'>;
  readonly requester: Pick<RingRequester, 'onMessage'>;
  /** This peer's stage runner now; null while no stage serves the current plan. */
  readonly runner: () => RingStageRunner | null;
  readonly isBanned: (peer: PeerId) => boolean;
  /** Stop talking to `peer` (ring and pieces). */
  readonly ban: (peer: PeerId, reason: string) => void;
  readonly emit: (e: RingPeerEvent) => void;
}

export class RingIntake {
  private readonly dropped = new Map<string, number>();
  private readonly strikes = new Map<PeerId, number>();
  private lastStages: readonly PeerId[] = [];
  private stagesOfRecentPlans = new Set<PeerId>();

  constructor(private readonly opts: RingIntakeOptions) {}

  /** A new plan's stages: they and the previous plan's may send stage frames (late ones are dropped as stale). */
  onPlanStages(stages: readonly PeerId[]): void {
    this.stagesOfRecentPlans = new Set([...this.lastStages, ...stages]);
    this.lastStages = stages;
  }

  /** Frames dropped since start, by reason. */
  droppedCounts(): Record<string, number> {
    return Object.fromEntries(this.dropped);
  }

  /** Members banned after RING_STRIKES refused frames. */
  banned(): PeerId[] {
    return [...this.strikes].filter(([peer]) => this.opts.isBanned(peer)).map(([peer]) => peer);
  }

  /**
   * Routes an incoming (or local) ring message from `from` to this peer's stage and/or requester.
   * Returns false when it was refused outright (malformed for this model, or from a peer that may
   * not send it).
   */
  deliver(m: RingMessage, from: PeerId): boolean {
    const invalid = checkRingMessage(m, this.opts.limits);
    if (invalid !== null) {
      this.refused(from, 'invalid', `${m.session} from ${from}: ${invalid}`);
      return false;
    }
    const route = frameRoute(m);
    // A member that is a stage of neither the current plan nor the one before has no business sending stage frames.
    if (route.fromStage && from !== this.opts.self() && !this.stagesOfRecentPlans.has(from)) {
      this.refused(from, 'not-a-stage', `${m.session}: ${m.type} from ${from}, which is no stage of the current or previous plan`);
      return false;
    }
    if (m.type === 'audit') {
      // Only the requester of an audited submission takes audits, and only from its stages.
      const intake = this.opts.audits.onAudit(m, from);
      if (intake === 'stale') this.count('stale-audit', `${m.session}: audit of step ${m.step} after the submission closed`);
      if (intake === 'refused')
        this.refused(from, 'wrong-sender', `${m.session}: audit of stage ${m.stage} from ${from}, which is no stage of an audited submission here`);
      return intake !== 'refused';
    }
    const { toStage, toRequester } = route;
    // The stage first: a token is the next step's input on stage 0, so it is admitted (and its run
    // queued) before the requester's bookkeeping and its consumer's work take the event loop.
    const runner = this.opts.runner();
    let accepted = toRequester;
    let stageRefused = false;
    if (toStage && runner !== null) {
      stageRefused = runner.senderProblem(m, from) !== null;
      accepted ||= !stageRefused;
      // A token may be meant for this peer's requester only: the stage refusing it is no offence then.
      if (stageRefused && !toRequester) this.strike(from);
      void runner.handle(m, from).then((outcome) => {
        // Tokens reach every role of a peer; the stage ignoring one meant for the requester is normal.
        if (outcome.kind === 'dropped' && m.type !== 'token') this.count(outcome.reason, outcome.detail);
      });
    } else if (toStage && m.type !== 'token') {
      this.count('no-stage', `${m.session}: ${m.type} while this peer has no loaded stage`);
    }
    if (toRequester) {
      const drop = this.opts.requester.onMessage(m, from);
      if (drop === null && m.type === 'token') this.opts.audits.onToken(m.session, m.step, m.tokenId);
      if (drop === 'wrong-sender' || (stageRefused && drop !== null))
        this.refused(from, 'wrong-sender', `${m.session}: ${m.type} from ${from}, which neither this stage nor this requester takes from it`);
    }
    return accepted;
  }

  private count(reason: string, detail: string): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + 1);
    this.opts.emit({ event: 'frame-dropped', reason, detail });
  }

  /** A frame `from` had no business sending: counted, and a strike against its sender. */
  private refused(from: PeerId, reason: string, detail: string): void {
    this.count(reason, detail);
    this.strike(from);
  }

  private strike(peer: PeerId): void {
    if (peer === this.opts.self() || this.opts.isBanned(peer)) return;
    const n = (this.strikes.get(peer) ?? 0) + 1;
    this.strikes.set(peer, n);
    if (n < RING_STRIKES) return;
    this.opts.ban(peer, `${n} refused ring frames`);
    this.opts.emit({ event: 'peer-banned', peer, strikes: n });
  }
}
