// Every request ends with its tokens or a typed error within its deadlines (docs/ring.md,
// "Deadlines"): the first token within firstTokenMs of the call, each next one within nextTokenMs,
// whatever the ring does meanwhile (silence, failures, re-plans, no ring at all).
import { describe, expect, it } from 'vitest';
import type { SessionId } from '../../../shared/ids.ts';
import { applyRequesterEvent } from '../../../shared/ring/requester-fold.ts';
import {
  initialRequesterState,
  nextWakeAt,
  type RequesterConfig,
  type RequesterEffect,
  type RequesterEvent,
  type RequesterState,
} from '../../../shared/ring/requester-state.ts';
import { NoRingError, RingTimeoutError } from '../../../shared/ring/errors.ts';
import { A, B, ME, S1, spec, wire } from './harness.ts';

const CONFIG: RequesterConfig = { self: ME, maxRetries: 5, stepTimeoutMs: 1000, replanWaitMs: 5000, firstTokenMs: 3000, nextTokenMs: 2000 };

/** Applies `events`, delivering a tick whenever the state asks for one before the next event. */
function run(events: readonly RequesterEvent[], until: number, config = CONFIG): { effects: RequesterEffect[]; state: RequesterState; ticks: number[] } {
  let state = initialRequesterState(config);
  const effects: RequesterEffect[] = [];
  const ticks: number[] = [];
  const apply = (e: RequesterEvent): void => {
    const r = applyRequesterEvent(e, state);
    state = r.state;
    effects.push(...r.effects);
  };
  const queue = [...events];
  for (let i = 0; i < 1000; i++) {
    const wake = nextWakeAt(state);
    const next = queue[0];
    if (next !== undefined && (wake === null || next.now <= wake)) apply(queue.shift() as RequesterEvent);
    else if (wake !== null && wake <= until) {
      ticks.push(wake);
      apply({ type: 'tick', now: wake });
    } else break;
  }
  return { effects, state, ticks };
}

const failedWith = (effects: readonly RequesterEffect[], session: SessionId): unknown =>
  effects.find((e): e is Extract<RequesterEffect, { type: 'failed' }> => e.type === 'failed' && e.session === session)?.error;

const plan = (now: number, epoch = 1): RequesterEvent => ({ type: 'plan-changed', now, epoch, ring: [A, B] });
const token = (now: number, step: number, attempt = 1): RequesterEvent => ({
  type: 'token-received',
  now,
  session: wire(`s1.${attempt}`),
  epoch: 1,
  step,
  tokenId: 40 + step,
});

describe('request deadlines', () => {
  it('a stage that never answers: RingTimeoutError at the first-token deadline, across the step timeout and its retry', () => {
    const { effects, state, ticks } = run([plan(0), { type: 'submitted', now: 0, session: S1, spec: spec() }], 60_000);
    const err = failedWith(effects, S1);
    expect(err).toBeInstanceOf(RingTimeoutError);
    expect(err).toMatchObject({ wait: 'first', limitMs: 3000, tokens: 0 });
    expect(ticks.at(-1)).toBe(3000);
    expect(state.requests.size).toBe(0);
  });

  it('a ring that stalls after a token: RingTimeoutError (next) one token gap after it', () => {
    const { effects, ticks } = run([plan(0), { type: 'submitted', now: 0, session: S1, spec: spec() }, token(500, 0)], 60_000, {
      ...CONFIG,
      stepTimeoutMs: 60_000,
    });
    expect(failedWith(effects, S1)).toMatchObject({ name: 'RingTimeoutError', wait: 'next', limitMs: 2000, tokens: 1 });
    expect(ticks.at(-1)).toBe(2500);
    // The stages are told to free the session.
    expect(effects).toContainEqual({ type: 'send-end', to: [A, B], session: wire('s1.1') });
  });

  it('no ring at all: NoRingError at the first-token deadline, not after the longer re-plan wait', () => {
    const { effects, ticks } = run([{ type: 'submitted', now: 0, session: S1, spec: spec() }], 60_000);
    expect(failedWith(effects, S1)).toBeInstanceOf(NoRingError);
    expect(ticks).toEqual([3000]);
  });

  it('a ring whose tokens come slower than the step timeout allows but within the token gap: tokens, no error', () => {
    // Each token 1900 ms after the one before: the whole request takes 7600 ms, over the first-token bound.
    const events = [plan(0), { type: 'submitted', now: 0, session: S1, spec: spec() } as const, token(1900, 0), token(3800, 1), token(5700, 2), token(7600, 3)];
    const { effects } = run(events, 60_000, { ...CONFIG, stepTimeoutMs: 10_000 });
    expect(failedWith(effects, S1)).toBeUndefined();
    expect(effects).toContainEqual({ type: 'finished', session: S1, reason: 'length', tokens: [40, 41, 42, 43] });
  });

  it('a re-plan does not reset the deadline: the request still ends by its first-token bound', () => {
    const events = [plan(0), { type: 'submitted', now: 0, session: S1, spec: spec() } as const, plan(1500, 2), plan(2500, 3)];
    const { effects, ticks } = run(events, 60_000, { ...CONFIG, stepTimeoutMs: 60_000 });
    expect(failedWith(effects, S1)).toMatchObject({ name: 'RingTimeoutError', wait: 'first' });
    expect(ticks.at(-1)).toBe(3000);
  });

  it('without deadlines configured nothing changes: the step timeout and retries decide', () => {
    const { firstTokenMs: _f, nextTokenMs: _n, ...plain } = CONFIG;
    const { effects } = run([plan(0), { type: 'submitted', now: 0, session: S1, spec: spec() }], 60_000, { ...plain, maxRetries: 0 });
    expect(failedWith(effects, S1)).toMatchObject({ name: 'RetriesExhaustedError' });
  });
});
