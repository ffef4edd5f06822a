import { describe, expect, it } from 'vitest';
import { applyRequesterEvent } from '../../../shared/ring/requester-fold.ts';
import { initialRequesterState, nextWakeAt } from '../../../shared/ring/requester-state.ts';
import { DeadlineExceededError, NoRingError, RetriesExhaustedError } from '../../../shared/ring/errors.ts';
import { A, B, C, CONFIG, D, ME, S1, S2, SimulatedRing, fold, nextToken, spec, wire } from './harness.ts';

const init = { replyTo: ME, maxTokens: 4, stop: [], sampling: { temperature: 0, topP: 1, topK: 0, seed: 7 } };
const plan1 = { type: 'plan-changed', now: 0, epoch: 1, ring: [A, B, C] } as const;

describe('requester fold: happy path', () => {
  it('sends the prompt to stage 0, emits each token, finishes at maxTokens and frees the stages', () => {
    const { state, effects } = fold([
      plan1,
      { type: 'submitted', now: 1, session: S1, spec: spec() },
      { type: 'token-received', now: 2, session: wire('s1.1'), epoch: 1, step: 0, tokenId: 11 },
      { type: 'token-received', now: 3, session: wire('s1.1'), epoch: 1, step: 1, tokenId: 12 },
      { type: 'token-received', now: 4, session: wire('s1.1'), epoch: 1, step: 2, tokenId: 13 },
      { type: 'token-received', now: 5, session: wire('s1.1'), epoch: 1, step: 3, tokenId: 14 },
    ]);
    expect(effects).toEqual([
      [],
      [{ type: 'send-prefill', to: A, message: { type: 'prefill', session: wire('s1.1'), epoch: 1, step: 0, tokens: [1, 5, 9], init } }],
      [{ type: 'emit-token', session: S1, step: 0, tokenId: 11 }],
      [{ type: 'emit-token', session: S1, step: 1, tokenId: 12 }],
      [{ type: 'emit-token', session: S1, step: 2, tokenId: 13 }],
      [
        { type: 'emit-token', session: S1, step: 3, tokenId: 14 },
        { type: 'send-end', to: [A, B, C], session: wire('s1.1') },
        { type: 'finished', session: S1, reason: 'length', tokens: [11, 12, 13, 14] },
      ],
    ]);
    expect(state.requests.size).toBe(0);
  });

  it('waits for a ring when submitted before any plan, then submits', () => {
    const { effects } = fold([{ type: 'submitted', now: 0, session: S1, spec: spec() }, plan1]);
    expect(effects[0]).toEqual([]);
    expect(effects[1]).toEqual([
      { type: 'send-prefill', to: A, message: { type: 'prefill', session: wire('s1.1'), epoch: 1, step: 0, tokens: [1, 5, 9], init } },
    ]);
  });

  it('ends on a stop id without emitting it', () => {
    const { effects } = fold([
      plan1,
      { type: 'submitted', now: 1, session: S1, spec: spec({ stop: [2] }) },
      { type: 'token-received', now: 2, session: wire('s1.1'), epoch: 1, step: 0, tokenId: 40 },
      { type: 'token-received', now: 3, session: wire('s1.1'), epoch: 1, step: 1, tokenId: 2 },
    ]);
    expect(effects[3]).toEqual([
      { type: 'send-end', to: [A, B, C], session: wire('s1.1') },
      { type: 'finished', session: S1, reason: 'stop', tokens: [40], stopToken: 2 },
    ]);
  });

  it('cancels: frees the stages and finishes with what it has', () => {
    const { effects, state } = fold([
      plan1,
      { type: 'submitted', now: 1, session: S1, spec: spec() },
      { type: 'token-received', now: 2, session: wire('s1.1'), epoch: 1, step: 0, tokenId: 40 },
      { type: 'cancelled', now: 3, session: S1 },
    ]);
    expect(effects[3]).toEqual([
      { type: 'send-end', to: [A, B, C], session: wire('s1.1') },
      { type: 'finished', session: S1, reason: 'cancelled', tokens: [40] },
    ]);
    expect(state.requests.size).toBe(0);
  });
});

describe('requester fold: re-plans', () => {
  it('re-submits exactly prompt + tokens so far to stage 0 of the new ring, at the next step', () => {
    const { effects } = fold([
      plan1,
      { type: 'submitted', now: 1, session: S1, spec: spec() },
      { type: 'token-received', now: 2, session: wire('s1.1'), epoch: 1, step: 0, tokenId: 21 },
      { type: 'token-received', now: 3, session: wire('s1.1'), epoch: 1, step: 1, tokenId: 22 },
      { type: 'plan-changed', now: 4, epoch: 2, ring: [D, C] },
    ]);
    expect(effects[4]).toEqual([
      { type: 'send-end', to: [A, B, C], session: wire('s1.1') },
      { type: 'send-prefill', to: D, message: { type: 'prefill', session: wire('s1.2'), epoch: 2, step: 2, tokens: [1, 5, 9, 21, 22], init } },
    ]);
  });

  it.each([0, 1, 3, 6])('greedy output after a re-plan at token %i is identical to an undisturbed run', (at) => {
    const run = (disturb: boolean): number[] => {
      const ring = new SimulatedRing();
      ring.apply({ type: 'plan-changed', now: 0, epoch: 1, ring: [A, B] });
      ring.apply({ type: 'submitted', now: 0, session: S1, spec: spec({ maxTokens: 8 }) });
      for (let i = 0; i < 20 && ring.ends.length === 0; i++) {
        if (disturb && i === at) ring.apply({ type: 'plan-changed', now: ring.now, epoch: 2, ring: [C, D] });
        ring.advance();
      }
      expect(ring.ends).toMatchObject([{ type: 'finished', reason: 'length' }]);
      return ring.emitted.get(S1) ?? [];
    };
    const undisturbed = run(false);
    expect(undisturbed).toHaveLength(8);
    expect(run(true)).toEqual(undisturbed);
  });

  it('ignores a plan that is not newer', () => {
    const { effects } = fold([plan1, { type: 'plan-changed', now: 1, epoch: 1, ring: [D] }]);
    expect(effects[1]).toMatchObject([{ type: 'dropped', reason: 'stale-plan' }]);
  });

  it('parks running requests when the new plan has no ring, and re-submits when one comes', () => {
    const { effects } = fold([
      plan1,
      { type: 'submitted', now: 1, session: S1, spec: spec() },
      { type: 'plan-changed', now: 2, epoch: 2, ring: [] },
      { type: 'plan-changed', now: 3, epoch: 3, ring: [B] },
    ]);
    expect(effects[2]).toEqual([{ type: 'send-end', to: [A, B, C], session: wire('s1.1') }]);
    expect(effects[3]).toMatchObject([{ type: 'send-prefill', to: B, message: { session: wire('s1.2'), epoch: 3, step: 0 } }]);
  });
});

describe('requester fold: stale frames', () => {
  const started = [
    plan1,
    { type: 'submitted', now: 1, session: S1, spec: spec() },
    { type: 'token-received', now: 2, session: wire('s1.1'), epoch: 1, step: 0, tokenId: 5 },
  ] as const;

  it.each([
    { name: 'a repeated step', event: { session: wire('s1.1'), epoch: 1, step: 0 }, reason: 'wrong-step' },
    { name: 'a skipped step', event: { session: wire('s1.1'), epoch: 1, step: 2 }, reason: 'wrong-step' },
    { name: 'an older epoch', event: { session: wire('s1.1'), epoch: 0, step: 1 }, reason: 'stale-epoch' },
    { name: 'an abandoned attempt', event: { session: wire('s1.0'), epoch: 1, step: 1 }, reason: 'unknown-session' },
    { name: 'an unknown session', event: { session: wire('zz.1'), epoch: 1, step: 1 }, reason: 'unknown-session' },
  ])('drops $name and changes nothing', ({ event, reason }) => {
    const before = fold([...started]).state;
    const r = applyRequesterEvent({ type: 'token-received', now: 3, tokenId: 9, ...event }, before);
    expect(r.effects).toMatchObject([{ type: 'dropped', reason }]);
    expect(r.state.requests).toEqual(before.requests);
  });

  it('drops tokens of the old ring after a re-submission', () => {
    const { effects } = fold([
      ...started,
      { type: 'plan-changed', now: 3, epoch: 2, ring: [D] },
      { type: 'token-received', now: 4, session: wire('s1.1'), epoch: 1, step: 1, tokenId: 9 },
    ]);
    expect(effects[4]).toMatchObject([{ type: 'dropped', reason: 'unknown-session' }]);
  });

  it('drops a second submission of a session id in flight', () => {
    const { effects } = fold([...started, { type: 'submitted', now: 3, session: S1, spec: spec() }]);
    expect(effects[3]).toMatchObject([{ type: 'dropped', reason: 'duplicate-session' }]);
  });
});

describe('requester fold: failures and time', () => {
  it('re-submits after a failure once a new ring is ready, spending one retry', () => {
    const { effects, state } = fold([
      plan1,
      { type: 'submitted', now: 1, session: S1, spec: spec() },
      { type: 'stage-failed', now: 2, session: wire('s1.1'), reason: 'stage b: engine error' },
      { type: 'plan-changed', now: 3, epoch: 2, ring: [A, C] },
    ]);
    expect(effects[2]).toEqual([{ type: 'send-end', to: [A, B, C], session: wire('s1.1') }]);
    expect(effects[3]).toMatchObject([{ type: 'send-prefill', to: A, message: { session: wire('s1.2'), epoch: 2, step: 0 } }]);
    expect(state.requests.get(S1)?.failures).toBe(1);
  });

  it('re-submits to the current ring when no new plan comes within replanWaitMs', () => {
    const { effects } = fold([
      plan1,
      { type: 'submitted', now: 0, session: S1, spec: spec() },
      { type: 'ended', now: 10, session: wire('s1.1'), reason: 'evicted' },
      { type: 'tick', now: 5009 },
      { type: 'tick', now: 5010 },
    ]);
    expect(effects[3]).toEqual([]);
    expect(effects[4]).toMatchObject([{ type: 'send-prefill', to: A, message: { session: wire('s1.2'), epoch: 1 } }]);
  });

  it('treats silence for stepTimeoutMs as a failed stage', () => {
    const { effects } = fold([plan1, { type: 'submitted', now: 0, session: S1, spec: spec() }, { type: 'tick', now: 999 }, { type: 'tick', now: 1000 }]);
    expect(effects[2]).toEqual([]);
    expect(effects[3]).toEqual([{ type: 'send-end', to: [A, B, C], session: wire('s1.1') }]);
  });

  it('ends with RetriesExhaustedError on the failure after maxRetries, keeping the tokens so far', () => {
    const { effects, state } = fold([
      plan1,
      { type: 'submitted', now: 0, session: S1, spec: spec() },
      { type: 'token-received', now: 1, session: wire('s1.1'), epoch: 1, step: 0, tokenId: 3 },
      { type: 'stage-failed', now: 2, peer: B, reason: 'peer b left' },
      { type: 'plan-changed', now: 3, epoch: 2, ring: [A, C] },
      { type: 'stage-failed', now: 4, peer: C, reason: 'peer c left' },
      { type: 'plan-changed', now: 5, epoch: 3, ring: [A, D] },
      { type: 'stage-failed', now: 6, session: wire('s1.3'), reason: 'stage d: out of memory' },
    ]);
    const last = effects[7] ?? [];
    expect(last[0]).toEqual({ type: 'send-end', to: [A, D], session: wire('s1.3') });
    expect(last[1]).toMatchObject({ type: 'failed', session: S1, tokens: [3] });
    const error = (last[1] as { error: unknown }).error;
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect((error as RetriesExhaustedError).name).toBe('RetriesExhaustedError');
    expect(state.requests.size).toBe(0);
  });

  it('ends with DeadlineExceededError at the deadline, whatever the phase', () => {
    const { effects } = fold([
      plan1,
      { type: 'submitted', now: 0, session: S1, spec: spec({ deadlineAt: 500 }) },
      { type: 'tick', now: 499 },
      { type: 'tick', now: 500 },
    ]);
    expect(effects[2]).toEqual([]);
    expect(effects[3]).toMatchObject([
      { type: 'send-end', session: wire('s1.1') },
      { type: 'failed', session: S1 },
    ]);
    expect((effects[3]?.[1] as { error: unknown }).error).toBeInstanceOf(DeadlineExceededError);
  });

  it('ends with NoRingError when no ring is ready within replanWaitMs', () => {
    const { effects } = fold([
      { type: 'submitted', now: 0, session: S1, spec: spec() },
      { type: 'tick', now: 5000 },
    ]);
    expect(effects[1]).toMatchObject([{ type: 'failed', session: S1, tokens: [] }]);
    expect((effects[1]?.[0] as { error: unknown }).error).toBeInstanceOf(NoRingError);
  });

  it('a lost peer fails every session running through it, and no other', () => {
    const { effects } = fold([
      plan1,
      { type: 'submitted', now: 0, session: S1, spec: spec() },
      { type: 'submitted', now: 0, session: S2, spec: spec() },
      { type: 'stage-failed', now: 1, peer: B, reason: 'peer b left' },
      { type: 'plan-changed', now: 2, epoch: 2, ring: [D] },
      { type: 'stage-failed', now: 3, peer: A, reason: 'peer a left' },
    ]);
    expect(effects[3]).toEqual([
      { type: 'send-end', to: [A, B, C], session: wire('s1.1') },
      { type: 'send-end', to: [A, B, C], session: wire('s2.1') },
    ]);
    expect(effects[4]).toMatchObject([
      { type: 'send-prefill', to: D },
      { type: 'send-prefill', to: D },
    ]);
    // Both moved to [D]: nothing runs through A any more.
    expect(effects[5]).toMatchObject([{ type: 'dropped', reason: 'unknown-session' }]);
  });

  it('reports when it next needs a tick', () => {
    const s0 = initialRequesterState(CONFIG);
    expect(nextWakeAt(s0)).toBeNull();
    const { state } = fold([plan1, { type: 'submitted', now: 100, session: S1, spec: spec({ deadlineAt: 900 }) }]);
    expect(nextWakeAt(state)).toBe(900);
    const { state: s2 } = fold([plan1, { type: 'submitted', now: 100, session: S1, spec: spec() }]);
    expect(nextWakeAt(s2)).toBe(1100);
  });
});

describe('requester fold: concurrent sessions', () => {
  it('runs interleaved sessions independently, each as it would alone', () => {
    const alone = (session: typeof S1, prompt: number[]): number[] => {
      const ring = new SimulatedRing();
      ring.apply({ type: 'plan-changed', now: 0, epoch: 1, ring: [A, B] });
      ring.apply({ type: 'submitted', now: 0, session, spec: spec({ prompt, maxTokens: 6 }) });
      while (ring.ends.length === 0) ring.advance();
      return ring.emitted.get(session) ?? [];
    };
    const ring = new SimulatedRing();
    ring.apply({ type: 'plan-changed', now: 0, epoch: 1, ring: [A, B] });
    ring.apply({ type: 'submitted', now: 0, session: S1, spec: spec({ prompt: [1, 2], maxTokens: 6 }) });
    ring.advance();
    ring.apply({ type: 'submitted', now: ring.now, session: S2, spec: spec({ prompt: [3, 4], maxTokens: 6 }) });
    ring.advance();
    ring.apply({ type: 'stage-failed', now: ring.now, session: wire('s2.1'), reason: 'stage b: busy' });
    ring.apply({ type: 'plan-changed', now: ring.now, epoch: 2, ring: [C] });
    for (let i = 0; i < 20 && ring.ends.length < 2; i++) ring.advance();
    expect(ring.emitted.get(S1)).toEqual(alone(S1, [1, 2]));
    expect(ring.emitted.get(S2)).toEqual(alone(S2, [3, 4]));
    expect(ring.ends.map((e) => e.type)).toEqual(['finished', 'finished']);
    expect(nextToken([3, 4])).toBe(ring.emitted.get(S2)?.[0]);
  });
});

describe('a plan that becomes ready', () => {
  it('accepts the same epoch again once its ring is ready, and submits waiting requests to it', () => {
    const { effects } = fold([
      { type: 'plan-changed', now: 0, epoch: 3, ring: [] },
      { type: 'submitted', now: 1, session: S1, spec: spec() },
      { type: 'plan-changed', now: 2, epoch: 3, ring: [A, B] },
      { type: 'plan-changed', now: 3, epoch: 3, ring: [B, A] },
    ]);
    expect(effects[1]).toEqual([]);
    expect(effects[2]).toMatchObject([{ type: 'send-prefill', to: A, message: { epoch: 3, step: 0 } }]);
    expect(effects[3]).toMatchObject([{ type: 'dropped', reason: 'stale-plan' }]);
  });
});
