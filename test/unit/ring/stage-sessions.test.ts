import { describe, expect, it } from 'vitest';
import { asPeerId, asSessionId } from '../../../shared/ids.ts';
import {
  admitFrame,
  emptyStageSessions,
  endSession,
  enterEpoch,
  evictIdle,
  nextEvictionAt,
  type StageFrame,
  type StageSessions,
} from '../../../shared/ring/stage-sessions.ts';

const init = { replyTo: asPeerId('me'), maxTokens: 8, stop: [], sampling: { temperature: 0, topP: 1, topK: 0, seed: 1 } };
const x = asSessionId('x.1');
const y = asSessionId('y.1');
const first = (session = x, step = 0, epoch = 3, replyTo = init.replyTo): StageFrame => ({
  kind: 'first',
  session,
  epoch,
  step,
  init: { ...init, replyTo },
  tokens: 4,
});
const next = (step: number, session = x, epoch = 3): StageFrame => ({ kind: 'next', session, epoch, step });

/** Applies frames in order (all at time `now`), asserting each is accepted. */
function admitAll(state: StageSessions, frames: StageFrame[], now = 0): StageSessions {
  for (const f of frames) {
    const r = admitFrame(state, f, now);
    if (!r.accepted) throw new Error(`unexpected drop: ${r.detail}`);
    state = r.state;
  }
  return state;
}

describe('stage sessions: limits', () => {
  const at3 = enterEpoch(emptyStageSessions, 3).state;
  const limits = { maxSessions: 3, maxSessionsPerRequester: 2, kvTokens: 40 };
  const open = (state: StageSessions, n: number, replyTo: string) => {
    for (let i = 0; i < n; i++) {
      const r = admitFrame(state, first(asSessionId(`${replyTo}-${i}`), 0, 3, asPeerId(replyTo)), 0, limits);
      if (!r.accepted) return { state, refused: r };
      state = r.state;
    }
    return { state, refused: null };
  };

  it('refuses a requester past its share as busy, while another requester still gets in', () => {
    const a = open(at3, 3, 'a');
    expect(a.state.sessions.size).toBe(2);
    expect(a.refused?.reason).toBe('busy');
    expect(open(a.state, 1, 'b').refused).toBeNull();
  });

  it('refuses past the total session count', () => {
    const s = open(open(open(at3, 1, 'a').state, 1, 'b').state, 1, 'c').state;
    expect(open(s, 1, 'd').refused?.reason).toBe('busy');
  });

  it('refuses a session whose KV reservation would pass the budget (prompt + tokens still to make)', () => {
    // Each opening reserves 4 prompt positions + 8 tokens = 12; 40 / 12 → three fit, then the sessions cap says no anyway.
    const tight = { ...limits, maxSessions: 10, maxSessionsPerRequester: 10, kvTokens: 30 };
    let s = at3;
    for (const id of ['p', 'q']) {
      const r = admitFrame(s, first(asSessionId(id)), 0, tight);
      expect(r.accepted).toBe(true);
      s = r.state;
    }
    const r = admitFrame(s, first(asSessionId('r')), 0, tight);
    expect(r.accepted ? null : r.reason).toBe('busy');
    // Freeing one makes room again.
    expect(admitFrame(endSession(s, asSessionId('p')).state, first(asSessionId('r')), 0, tight).accepted).toBe(true);
  });
});

describe('stage sessions: admitting frames', () => {
  const at3 = enterEpoch(emptyStageSessions, 3).state;

  it('accepts a session opening and then each next step in order', () => {
    const s = admitAll(at3, [first(x, 2), next(3), next(4)]);
    expect(s.sessions.get(x)).toEqual({ epoch: 3, nextStep: 5, lastActiveAt: 0, init, reservedTokens: 4 + 8 - 2 });
  });

  it.each([
    { name: 'before any plan', state: emptyStageSessions, frame: first(), reason: 'no-plan' },
    { name: 'an older epoch', state: at3, frame: first(x, 0, 2), reason: 'stale-epoch' },
    { name: 'a newer epoch', state: at3, frame: first(x, 0, 4), reason: 'future-epoch' },
    { name: 'a step on an unknown session', state: at3, frame: next(1), reason: 'unknown-session' },
    { name: 'a second opening', state: admitAll(at3, [first()]), frame: first(), reason: 'duplicate-session' },
    { name: 'a repeated step', state: admitAll(at3, [first(), next(1)]), frame: next(1), reason: 'wrong-step' },
    { name: 'a skipped step', state: admitAll(at3, [first(), next(1)]), frame: next(3), reason: 'wrong-step' },
    { name: 'a stale-epoch step of a held session', state: admitAll(at3, [first()]), frame: next(1, x, 2), reason: 'stale-epoch' },
  ])('drops $name without changing state', ({ state, frame, reason }) => {
    const r = admitFrame(state, frame, 5);
    expect(r).toMatchObject({ accepted: false, reason });
    expect(r.state).toBe(state);
  });

  it('keeps concurrent sessions apart', () => {
    const s = admitAll(at3, [first(x), first(y, 4), next(1, x), next(5, y), next(2, x)]);
    expect(s.sessions.get(x)?.nextStep).toBe(3);
    expect(s.sessions.get(y)?.nextStep).toBe(6);
  });
});

describe('stage sessions: freeing caches', () => {
  it('frees every session of another epoch when the stage enters a new one', () => {
    const s = admitAll(enterEpoch(emptyStageSessions, 3).state, [first(x), first(y)]);
    const r = enterEpoch(s, 4);
    expect(r.free).toEqual([x, y]);
    expect(r.state).toEqual({ epoch: 4, sessions: new Map() });
  });

  it('frees a session on end, and ignores an end for one it does not hold', () => {
    const s = admitAll(enterEpoch(emptyStageSessions, 3).state, [first(x)]);
    expect(endSession(s, x).free).toEqual([x]);
    expect(endSession(s, y)).toEqual({ state: s, free: [] });
  });

  it('evicts sessions idle for idleMs on a fake clock, oldest first, keeping active ones', () => {
    let s = enterEpoch(emptyStageSessions, 3).state;
    s = admitAll(s, [first(x)], 1000); // x last active at 1000
    s = admitAll(s, [first(y)], 1500); // y at 1500
    s = admitAll(s, [next(1, y)], 2500); // y active again at 2500
    expect(nextEvictionAt(s, 2000)).toBe(3000);
    expect(evictIdle(s, 2999, 2000).free).toEqual([]);
    const at3000 = evictIdle(s, 3000, 2000);
    expect(at3000.free).toEqual([x]);
    expect([...at3000.state.sessions.keys()]).toEqual([y]);
    expect(evictIdle(s, 10_000, 2000).free).toEqual([x, y]);
    expect(nextEvictionAt(emptyStageSessions, 2000)).toBeNull();
  });
});
