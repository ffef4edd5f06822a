import { describe, expect, it } from 'vitest';
import { initialRequesterState } from '../../../shared/ring/requester-state.ts';
import type { RequesterEffect } from '../../../shared/ring/requester-state.ts';
import { A, B, C, CONFIG, S1, fold, spec } from './harness.ts';

// The requester fold with audited submissions (docs/ring.md, "Verified compute"): tokens are
// held until verified, a failed audit replays from the last verified step.
const audited = initialRequesterState({ ...CONFIG, audit: () => true });
const plan1 = { type: 'plan-changed', now: 0, epoch: 1, ring: [A, B, C] } as const;
const submit = { type: 'submitted', now: 0, session: S1, spec: spec({ maxTokens: 3 }) } as const;
const W1 = 's1.1';
const tok = (step: number, tokenId: number, session = W1) => ({ type: 'token-received', now: 1, session, epoch: 1, step, tokenId, from: C }) as never;
const emitted = (effects: RequesterEffect[][]): number[] => effects.flat().flatMap((e) => (e.type === 'emit-token' ? [e.tokenId] : []));

describe('audited submissions', () => {
  it('the prefill says audit; tokens wait for verification and go out in order; the request ends once all are verified', () => {
    const { state, effects } = fold([plan1, submit, tok(0, 11), tok(1, 12), tok(2, 13)], audited);
    const prefill = effects[1]!.find((e) => e.type === 'send-prefill');
    expect(prefill?.type === 'send-prefill' && prefill.message.init.audit).toBe(true);
    expect(emitted(effects)).toEqual([]);
    expect(state.requests.get(S1)?.phase).toBe('verifying');
    const r = fold(
      [
        { type: 'verified', now: 2, session: W1 as never, upTo: 2 },
        { type: 'verified', now: 3, session: W1 as never, upTo: 3 },
      ],
      state,
    );
    expect(emitted(r.effects)).toEqual([11, 12, 13]);
    expect(r.effects[1]!.find((e) => e.type === 'finished')).toMatchObject({ reason: 'length', tokens: [11, 12, 13] });
    expect(r.effects[1]!.some((e) => e.type === 'send-end')).toBe(true);
  });

  it('a stop token ends the request only once its step is verified', () => {
    const stopAt = fold([plan1, { ...submit, spec: spec({ maxTokens: 5, stop: [2] }) }, tok(0, 11), tok(1, 2)], audited);
    expect(stopAt.state.requests.get(S1)?.phase).toBe('verifying');
    const r = fold([{ type: 'verified', now: 2, session: W1 as never, upTo: 2 }], stopAt.state);
    expect(r.effects[0]!.find((e) => e.type === 'finished')).toMatchObject({ reason: 'stop', tokens: [11], stopToken: 2 });
  });

  it('a failed audit drops the unverified tokens and re-submits from the last verified step on the next ring', () => {
    const { state } = fold([plan1, submit, tok(0, 11), { type: 'verified', now: 1, session: W1 as never, upTo: 1 }, tok(1, 99)], audited);
    const failed = fold([{ type: 'audit-failed', now: 2, session: W1 as never, step: 1, reason: 'stage 1: noise' }], state);
    expect(failed.state.requests.get(S1)).toMatchObject({ phase: 'waiting', generated: [11], verified: 1, failures: 1 });
    const next = fold([{ type: 'plan-changed', now: 3, epoch: 2, ring: [A, C] }], failed.state);
    const prefill = next.effects[0]!.find((e) => e.type === 'send-prefill');
    expect(prefill?.type === 'send-prefill' && prefill.message).toMatchObject({ step: 1, tokens: [1, 5, 9, 11] });
  });

  it('no verification within the step timeout fails the submission over', () => {
    const { state } = fold([plan1, submit, tok(0, 11), tok(1, 12), tok(2, 13)], audited);
    const r = fold([{ type: 'tick', now: 1 + CONFIG.stepTimeoutMs }], state);
    expect(r.state.requests.get(S1)).toMatchObject({ phase: 'waiting', generated: [], failures: 1 });
  });

  it('without an audit decision nothing changes: tokens go out as they come', () => {
    const { effects } = fold([plan1, submit, tok(0, 11), tok(1, 12)]);
    expect(emitted(effects)).toEqual([11, 12]);
  });
});
