import { describe, expect, it } from 'vitest';
import { asPeerId, asSessionId } from '../../../shared/ids.ts';
import type { RingMessage } from '../../../shared/ring/messages.ts';
import { checkRingMessage } from '../../../shared/ring/ring-message-limits.ts';
import { newSessionId, SESSION_ID_BITS } from '../../../shared/ring/session-id.ts';

const limits = { hiddenSize: 4, vocabSize: 10, contextTokens: 16, maxStopIds: 2 };
const session = asSessionId('s');
const init = { replyTo: asPeerId('r'), maxTokens: 8, stop: [1], sampling: { temperature: 0.7, topP: 0.9, topK: 5, seed: 3 } };
const prefill = (over: Partial<Extract<RingMessage, { type: 'prefill' }>> = {}): RingMessage => ({
  type: 'prefill',
  session,
  epoch: 1,
  step: 0,
  tokens: [1, 2],
  init,
  ...over,
});
const act = (seqLen: number, values: number, step = 0): RingMessage => ({
  type: 'activation',
  session,
  epoch: 1,
  step,
  seqLen,
  hidden: new Float32Array(values),
});
const token = (tokenId: number, step = 0): RingMessage => ({ type: 'token', session, epoch: 1, step, tokenId, logprob: 0 });

describe('ring messages checked against the model', () => {
  it.each([
    { name: 'a prefill', m: prefill() },
    { name: 'a prefill filling the context', m: prefill({ tokens: new Array<number>(16).fill(3) }) },
    { name: 'a prefill activation', m: act(3, 12) },
    { name: 'a token', m: token(9, 15) },
    { name: 'an end', m: { type: 'end', session, reason: 'done' } as RingMessage },
  ])('accepts $name', ({ m }) => expect(checkRingMessage(m, limits)).toBeNull());

  it.each([
    { name: 'a token id past the vocabulary', m: token(10) },
    { name: 'a negative token id', m: token(-1) },
    { name: 'a step past the context', m: token(1, 16) },
    { name: 'hidden states of the wrong width', m: act(2, 7) },
    { name: 'more positions than the context', m: act(17, 68) },
    { name: 'an empty prefill', m: prefill({ tokens: [] }) },
    { name: 'a prefill past the context', m: prefill({ tokens: new Array<number>(17).fill(1) }) },
    { name: 'a prefill id past the vocabulary', m: prefill({ tokens: [1, 99] }) },
    { name: 'maxTokens past the context', m: prefill({ init: { ...init, maxTokens: 17 } }) },
    { name: 'too many stop ids', m: prefill({ init: { ...init, stop: [1, 2, 3] } }) },
    { name: 'a NaN temperature', m: prefill({ init: { ...init, sampling: { ...init.sampling, temperature: Number.NaN } } }) },
    { name: 'topP 0', m: prefill({ init: { ...init, sampling: { ...init.sampling, topP: 0 } } }) },
  ])('refuses $name', ({ m }) => expect(checkRingMessage(m, limits)).toEqual(expect.any(String)));
});

describe('session ids', () => {
  it('are 128 random bits, never repeating', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newSessionId()));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(new RegExp(`^[0-9a-f]{${SESSION_ID_BITS / 4}}$`));
  });
});
