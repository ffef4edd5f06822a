// The requester accepts a submission's frames only from that submission's stages: tokens from its
// last stage, failure reports and ends from any of its stages. A member outside the ring that
// learns a session id still cannot inject tokens or stall the request.
import { describe, expect, it } from 'vitest';
import { asPeerId } from '../../../shared/ids.ts';
import { RingBusyError } from '../../../shared/ring/errors.ts';
import { A, B, C, ME, S1, fold, spec, wire } from './harness.ts';

const plan1 = { type: 'plan-changed', now: 0, epoch: 1, ring: [A, B, C] } as const;
const submitted = { type: 'submitted', now: 1, session: S1, spec: spec() } as const;
const X = asPeerId('x'); // a member of the room, not of this ring

describe('requester fold: who may send', () => {
  it('drops a token from anyone but the last stage and takes the real one after it', () => {
    const { effects } = fold([
      plan1,
      submitted,
      { type: 'token-received', now: 2, session: wire('s1.1'), epoch: 1, step: 0, tokenId: 66, from: X },
      { type: 'token-received', now: 2, session: wire('s1.1'), epoch: 1, step: 0, tokenId: 66, from: A },
      { type: 'token-received', now: 3, session: wire('s1.1'), epoch: 1, step: 0, tokenId: 11, from: C },
    ]);
    expect(effects[2]).toMatchObject([{ type: 'dropped', reason: 'wrong-sender' }]);
    expect(effects[3]).toMatchObject([{ type: 'dropped', reason: 'wrong-sender' }]);
    expect(effects[4]).toEqual([{ type: 'emit-token', session: S1, step: 0, tokenId: 11 }]);
  });

  it('ignores failure reports and ends from outside the submission (no retry spent)', () => {
    const { state, effects } = fold([
      plan1,
      submitted,
      { type: 'stage-failed', now: 2, session: wire('s1.1'), reason: 'forged', from: X },
      { type: 'ended', now: 2, session: wire('s1.1'), reason: 'evicted', from: X },
      { type: 'ended', now: 2, session: wire('s1.1'), reason: 'busy', from: ME },
    ]);
    for (const e of effects.slice(2)) expect(e).toMatchObject([{ type: 'dropped', reason: 'wrong-sender' }]);
    expect(state.requests.get(S1)).toMatchObject({ phase: 'running', failures: 0, attempt: 1 });
  });

  it('a failure report from a stage of the submission still fails over', () => {
    const { state } = fold([plan1, submitted, { type: 'stage-failed', now: 2, session: wire('s1.1'), reason: 'engine', from: B }]);
    expect(state.requests.get(S1)).toMatchObject({ phase: 'waiting', failures: 1 });
  });

  it('a stage refusing the session as busy, with no other ring, ends the request with RingBusyError and frees the stages', () => {
    const { effects } = fold([plan1, submitted, { type: 'ended', now: 2, session: wire('s1.1'), reason: 'busy', from: B }]);
    expect(effects[2]).toMatchObject([
      { type: 'send-end', to: [A, B, C] },
      { type: 'failed', session: S1 },
    ]);
    const failed = effects[2]?.[1];
    expect(failed?.type === 'failed' ? failed.error : null).toBeInstanceOf(RingBusyError);
  });
});
