// Requester-side ring sessions as data: state, the events that change it and the effects it asks
// the edges to perform. `applyRequesterEvent` (requester-fold.ts) is the fold over these.
import type { RingmeshError } from '../errors.ts';
import type { PeerId, SessionId } from '../ids.ts';
import type { RingPrefill, SamplingOptions } from './messages.ts';

/** Default deadlines (docs/ring.md, "Deadlines"): to a request's first token, and between tokens. */
export const DEFAULT_FIRST_TOKEN_MS = 30_000;
export const DEFAULT_NEXT_TOKEN_MS = 30_000;

/** Fixed per requester. */
export interface RequesterConfig {
  /** This peer: stages send tokens here. */
  readonly self: PeerId;
  /** Ring failures a request survives; the next one ends it with RetriesExhaustedError. */
  readonly maxRetries: number;
  /** A running session with no token for this long counts as a failed (timed-out) stage. */
  readonly stepTimeoutMs: number;
  /** After a failure with no other ring ready, how long to wait for a new one before re-submitting to a current one. */
  readonly replanWaitMs: number;
  /**
   * Deadlines of every request (docs/ring.md, "Deadlines"): its first token within `firstTokenMs`
   * of the call, each later one within `nextTokenMs` of the one before, across retries and
   * re-plans; else it ends with RingTimeoutError (NoRingError while no ring is ready at all).
   * Absent: no such deadline.
   */
  readonly firstTokenMs?: number;
  readonly nextTokenMs?: number;
  /**
   * Whether a new submission to `ring` is audited (docs/ring.md, "Verified compute"): its tokens
   * are held until the requester's verifier confirms their steps. Absent: never.
   */
  readonly audit?: (ring: readonly PeerId[]) => boolean;
  /**
   * Smoothed round trip to a peer, ms (undefined: not measured): a replica ring costs a new
   * session this round trip to its stage 0 (ring-choice.ts). Absent: none is measured.
   */
  readonly rttMs?: (peer: PeerId) => number | undefined;
  /** What one more session adds to each step of a ring, ms (ring-choice.ts `sessionCostMs`). Absent: its default. */
  readonly sessionMs?: () => number;
}

/** One generation request, fixed at submission. */
export interface RequestSpec {
  readonly prompt: readonly number[];
  readonly maxTokens: number;
  readonly stop: readonly number[];
  readonly sampling: SamplingOptions;
  /** Absolute time (same clock as events' `now`) by which it must complete; none if absent. */
  readonly deadlineAt?: number;
}

/** A request in flight. Finished requests leave the state (their end is an effect). */
export interface RequestState {
  readonly id: SessionId;
  readonly spec: RequestSpec;
  readonly generated: readonly number[];
  /**
   * Tokens of `generated` handed to the consumer: all of them, except in an audited submission,
   * where a token waits for its step to be verified. A new submission starts from these.
   */
  readonly verified: number;
  /** The current submission is audited. */
  readonly audit: boolean;
  /** Audited: the stop token that ended generation, waiting for its step to be verified. */
  readonly stopToken?: number;
  /**
   * `waiting`: no usable ring yet (or after a failure); `running`: a submission is in flight;
   * `verifying`: an audited submission made its last token and waits for verification.
   */
  readonly phase: 'waiting' | 'running' | 'verifying';
  /** Submissions so far; each uses its own wire session id so stale frames cannot mix in. */
  readonly attempt: number;
  /** Wire session id of the current submission (null before the first). */
  readonly wire: SessionId | null;
  /** Epoch and stages of the current submission. */
  readonly epoch: number;
  readonly stages: readonly PeerId[];
  readonly failures: number;
  /** When the current phase began; for `running`, when the last token arrived. */
  readonly since: number;
  /** When the request was made, or its latest token arrived: its deadlines count from here. */
  readonly progressAt: number;
}

export interface RequesterState {
  readonly config: RequesterConfig;
  /** Latest plan epoch heard of. */
  readonly epoch: number;
  /**
   * Ready replica rings of `epoch`, in plan order (docs/ring.md, "Replica rings"), less those
   * through a peer lost since: empty when none can serve.
   */
  readonly rings: readonly (readonly PeerId[])[];
  /** Peers lost during `epoch`: rings through them are not offered again until a new plan. */
  readonly lost: readonly PeerId[];
  readonly requests: ReadonlyMap<SessionId, RequestState>;
}

/** Every event carries the time it is applied at; the fold never reads a clock. */
export type RequesterEvent =
  | { readonly type: 'submitted'; readonly now: number; readonly session: SessionId; readonly spec: RequestSpec }
  /**
   * The ready rings of `epoch` (all stages loaded): `rings` lists every one; without it, `ring` is
   * the only one (empty: none can serve). A later event for the same epoch may list more.
   */
  | {
      readonly type: 'plan-changed';
      readonly now: number;
      readonly epoch: number;
      readonly ring: readonly PeerId[];
      readonly rings?: readonly (readonly PeerId[])[];
    }
  /** `from`: the peer the frame came from; only the submission's last stage may send its tokens. */
  | {
      readonly type: 'token-received';
      readonly now: number;
      readonly session: SessionId;
      readonly epoch: number;
      readonly step: number;
      readonly tokenId: number;
      readonly from?: PeerId;
    }
  /**
   * A stage reported a failure for `session` (wire id), or `peer` is gone (every session through
   * it). A report (`from` set) counts only from a stage of that submission.
   */
  | {
      readonly type: 'stage-failed';
      readonly now: number;
      readonly session?: SessionId;
      readonly peer?: PeerId;
      readonly reason: string;
      readonly from?: PeerId;
    }
  /** A stage of the submission (`from`) ended the session on its side (evicted it, or refused it: `busy`). */
  | { readonly type: 'ended'; readonly now: number; readonly session: SessionId; readonly reason: string; readonly from?: PeerId }
  /** The verifier confirmed every step of submission `session` (wire id) before `upTo`. */
  | { readonly type: 'verified'; readonly now: number; readonly session: SessionId; readonly upTo: number }
  /** The verifier found step `step` of submission `session` wrong: replay from the last verified step. */
  | { readonly type: 'audit-failed'; readonly now: number; readonly session: SessionId; readonly step: number; readonly reason: string }
  /** The caller gave up on the request. */
  | { readonly type: 'cancelled'; readonly now: number; readonly session: SessionId }
  /** Time passed: timeouts and deadlines are checked. */
  | { readonly type: 'tick'; readonly now: number };

export type FinishReason = 'stop' | 'length' | 'cancelled';

export type RequesterEffect =
  | { readonly type: 'send-prefill'; readonly to: PeerId; readonly message: RingPrefill }
  /** Free the session's KV caches on these stages (best effort). */
  | { readonly type: 'send-end'; readonly to: readonly PeerId[]; readonly session: SessionId }
  | { readonly type: 'emit-token'; readonly session: SessionId; readonly step: number; readonly tokenId: number }
  | { readonly type: 'finished'; readonly session: SessionId; readonly reason: FinishReason; readonly tokens: readonly number[]; readonly stopToken?: number }
  | { readonly type: 'failed'; readonly session: SessionId; readonly error: RingmeshError; readonly tokens: readonly number[] }
  /** An event that changed nothing, with why (for logs and tests). */
  | { readonly type: 'dropped'; readonly reason: DropReason; readonly detail: string };

export type DropReason = 'unknown-session' | 'stale-epoch' | 'wrong-step' | 'stale-plan' | 'duplicate-session' | 'wrong-sender';

export interface RequesterStep {
  readonly state: RequesterState;
  readonly effects: readonly RequesterEffect[];
}

export function initialRequesterState(config: RequesterConfig): RequesterState {
  return { config, epoch: -1, rings: [], lost: [], requests: new Map() };
}

/**
 * When the edge should deliver the next `tick`: the earliest deadline, token deadline, step
 * timeout or re-plan wait among the requests; null when nothing is waiting on time.
 */
export function nextWakeAt(state: RequesterState): number | null {
  let at: number | null = null;
  const consider = (t: number): void => {
    at = at === null ? t : Math.min(at, t);
  };
  for (const r of state.requests.values()) {
    if (r.spec.deadlineAt !== undefined) consider(r.spec.deadlineAt);
    const gap = progressLimitMs(state.config, r);
    if (gap !== undefined) consider(r.progressAt + gap);
    consider(r.since + (r.phase === 'waiting' ? state.config.replanWaitMs : state.config.stepTimeoutMs));
  }
  return at;
}

/** How long `r` may go without a token now: to its first one, or to the next; undefined: no limit. */
export function progressLimitMs(config: RequesterConfig, r: RequestState): number | undefined {
  return r.generated.length === 0 ? config.firstTokenMs : config.nextTokenMs;
}
