// A stage's bookkeeping of the sessions it holds KV caches for (docs/ring.md, "Sessions"): which frames to run,
// which to drop as stale, which caches to free. Pure: time comes in as `now`, and every function
// returns the sessions whose caches the caller must free (Stage.freeSession).
import type { SessionId } from '../ids.ts';
import type { SessionInit } from './messages.ts';

export interface StageSession {
  readonly epoch: number;
  /** Step of the next frame this stage accepts for the session. */
  readonly nextStep: number;
  readonly lastActiveAt: number;
  readonly init: SessionInit;
  /** KV positions reserved for the session at opening: its input plus every token it may still make. */
  readonly reservedTokens: number;
}

/**
 * What one stage holds at most: sessions in all, sessions per requester (`init.replyTo`), and KV
 * positions over all sessions (within the peer's `--memory`). A session over any of them is
 * refused at opening (`busy`), so a member opening sessions by the hundred holds no more than its
 * share and RSS stays bounded.
 */
export interface StageLimits {
  readonly maxSessions: number;
  readonly maxSessionsPerRequester: number;
  readonly kvTokens: number;
}

export const DEFAULT_STAGE_LIMITS: StageLimits = { maxSessions: 64, maxSessionsPerRequester: 16, kvTokens: Number.MAX_SAFE_INTEGER };

export interface StageSessions {
  /** Epoch of the plan this stage's layers belong to; null before it has one. */
  readonly epoch: number | null;
  readonly sessions: ReadonlyMap<SessionId, StageSession>;
}

/** An incoming ring input: `first` opens the session (prefill), otherwise one decode step. */
export type StageFrame =
  | { readonly kind: 'first'; readonly session: SessionId; readonly epoch: number; readonly step: number; readonly init: SessionInit; readonly tokens: number }
  | { readonly kind: 'next'; readonly session: SessionId; readonly epoch: number; readonly step: number };

export type FrameDrop = 'no-plan' | 'stale-epoch' | 'future-epoch' | 'duplicate-session' | 'unknown-session' | 'wrong-step' | 'busy';

export type Admission =
  | { readonly state: StageSessions; readonly accepted: true; readonly session: StageSession }
  | { readonly state: StageSessions; readonly accepted: false; readonly reason: FrameDrop; readonly detail: string };

/** Sessions removed by an operation: free their KV caches. */
export interface Freed {
  readonly state: StageSessions;
  readonly free: readonly SessionId[];
}

export const emptyStageSessions: StageSessions = { epoch: null, sessions: new Map() };

function withSessions(state: StageSessions, sessions: Map<SessionId, StageSession>): StageSessions {
  return { epoch: state.epoch, sessions };
}

/**
 * Decides whether a frame runs. Frames of another epoch are dropped (this stage's layers belong to
 * its own epoch), as are a second opening of a session, a step on an unknown session and any step
 * but the next one (duplicates and reordering never reach the engine's KV cache).
 */
export function admitFrame(state: StageSessions, frame: StageFrame, now: number, limits: StageLimits = DEFAULT_STAGE_LIMITS): Admission {
  const reject = (reason: FrameDrop, detail: string): Admission => ({ state, accepted: false, reason, detail });
  if (state.epoch === null) return reject('no-plan', `${frame.session}: frame of epoch ${frame.epoch} before this stage has a plan`);
  if (frame.epoch < state.epoch) return reject('stale-epoch', `${frame.session}: epoch ${frame.epoch}, stage is at ${state.epoch}`);
  if (frame.epoch > state.epoch) return reject('future-epoch', `${frame.session}: epoch ${frame.epoch}, stage is still at ${state.epoch}`);
  const known = state.sessions.get(frame.session);
  let next: StageSession;
  if (frame.kind === 'first') {
    if (known !== undefined) return reject('duplicate-session', `${frame.session}: opened twice`);
    const reservedTokens = frame.tokens + Math.max(0, frame.init.maxTokens - frame.step);
    const busy = overLimits(state, frame.init.replyTo, reservedTokens, limits);
    if (busy !== null) return reject('busy', `${frame.session}: ${busy}`);
    next = { epoch: frame.epoch, nextStep: frame.step + 1, lastActiveAt: now, init: frame.init, reservedTokens };
  } else {
    if (known === undefined) return reject('unknown-session', `${frame.session}: step ${frame.step} for a session this stage does not hold`);
    if (frame.step !== known.nextStep) return reject('wrong-step', `${frame.session}: step ${frame.step}, expected ${known.nextStep}`);
    next = { ...known, nextStep: known.nextStep + 1, lastActiveAt: now };
  }
  const sessions = new Map(state.sessions);
  sessions.set(frame.session, next);
  return { state: withSessions(state, sessions), accepted: true, session: next };
}

/** Why one more session from `requester` reserving `tokens` KV positions would exceed `limits`, or null. */
function overLimits(state: StageSessions, requester: string, tokens: number, limits: StageLimits): string | null {
  if (state.sessions.size >= limits.maxSessions) return `stage holds ${state.sessions.size} sessions, at most ${limits.maxSessions}`;
  let mine = 0;
  let reserved = 0;
  for (const s of state.sessions.values()) {
    if (s.init.replyTo === requester) mine++;
    reserved += s.reservedTokens;
  }
  if (mine >= limits.maxSessionsPerRequester) return `requester ${requester} holds ${mine} sessions here, at most ${limits.maxSessionsPerRequester}`;
  if (reserved + tokens > limits.kvTokens) return `KV for ${tokens} more positions over the stage's budget (${reserved} of ${limits.kvTokens} reserved)`;
  return null;
}

/** The stage now serves `epoch`: sessions of any other epoch are freed (their layers may be gone). */
export function enterEpoch(state: StageSessions, epoch: number): Freed {
  const free: SessionId[] = [];
  const sessions = new Map<SessionId, StageSession>();
  for (const [id, s] of state.sessions) {
    if (s.epoch === epoch) sessions.set(id, s);
    else free.push(id);
  }
  return { state: { epoch, sessions }, free };
}

/** SESSION_END (or a finished session): free it if held. */
export function endSession(state: StageSessions, session: SessionId): Freed {
  if (!state.sessions.has(session)) return { state, free: [] };
  const sessions = new Map(state.sessions);
  sessions.delete(session);
  return { state: withSessions(state, sessions), free: [session] };
}

/** Frees every session idle for at least `idleMs` (no frame since), oldest first. */
export function evictIdle(state: StageSessions, now: number, idleMs: number): Freed {
  const idle = [...state.sessions].filter(([, s]) => now - s.lastActiveAt >= idleMs).sort(([, a], [, b]) => a.lastActiveAt - b.lastActiveAt);
  if (idle.length === 0) return { state, free: [] };
  const sessions = new Map(state.sessions);
  for (const [id] of idle) sessions.delete(id);
  return { state: withSessions(state, sessions), free: idle.map(([id]) => id) };
}

/** When the next idle eviction is due, or null with no sessions. */
export function nextEvictionAt(state: StageSessions, idleMs: number): number | null {
  let at: number | null = null;
  for (const s of state.sessions.values()) at = at === null ? s.lastActiveAt + idleMs : Math.min(at, s.lastActiveAt + idleMs);
  return at;
}
