import { describe, expect, it } from 'vitest';
import { asPeerId, asSessionId } from '../../../shared/ids.ts';
import { decodeHalf, encodeHalf, fromHalfBits, toHalfBits } from '../../../shared/ring/fp16.ts';
import type { RingMessage, SessionInit } from '../../../shared/ring/messages.ts';
import { isRingMessage, RingFrameDecoder, ringMessageFrames } from '../../../shared/ring/ring-frames.ts';
import { decodeFrame, encodeFrame } from '../../../shared/wire/index.ts';

const session = asSessionId('peer-1.2');
const init: SessionInit = { replyTo: asPeerId('requester'), maxTokens: 9, stop: [1, 2], sampling: { temperature: 0.5, topP: 0.9, topK: 7, seed: 123456789 } };

/** Through the real codec and back, like a data channel would carry it. */
function roundTrip(m: RingMessage, dtype: 'fp32' | 'fp16' = 'fp32', epochOf = (): number => 4): RingMessage[] {
  const decoder = new RingFrameDecoder(epochOf);
  const out: RingMessage[] = [];
  for (const f of ringMessageFrames(m, dtype)) {
    const r = decoder.decode(decodeFrame(encodeFrame(f)));
    if (r !== null && isRingMessage(r)) out.push(r);
  }
  return out;
}

describe('ring messages as wire frames', () => {
  it('carries a prefill (int32 tokens + SESSION_INIT) unchanged', () => {
    const m: RingMessage = { type: 'prefill', session, epoch: 4, step: 3, tokens: [1, 500, 31999], init };
    expect(roundTrip(m)).toEqual([m]);
  });

  it('carries fp32 hidden states bit for bit, with the init on a first activation only', () => {
    const hidden = Float32Array.from({ length: 12 }, (_, i) => Math.sin(i) * 1e3);
    const first: RingMessage = { type: 'activation', session, epoch: 4, step: 0, seqLen: 3, hidden, init };
    const next: RingMessage = { type: 'activation', session, epoch: 4, step: 1, seqLen: 1, hidden: hidden.subarray(0, 4) };
    expect(roundTrip(first)).toEqual([first]);
    expect(roundTrip(next)).toEqual([{ ...next, hidden: Float32Array.from(hidden.subarray(0, 4)) }]);
  });

  it('carries hidden states as fp16 within half precision', () => {
    const hidden = Float32Array.from({ length: 64 }, (_, i) => (i - 32) * 0.37);
    const [back] = roundTrip({ type: 'activation', session, epoch: 4, step: 1, seqLen: 2, hidden }, 'fp16');
    expect(back?.type).toBe('activation');
    const got = (back as Extract<RingMessage, { type: 'activation' }>).hidden;
    got.forEach((v, i) => expect(Math.abs(v - (hidden[i] as number))).toBeLessThanOrEqual(Math.abs(hidden[i] as number) / 1024 + 1e-7));
  });

  it('fills in a TOKEN frame’s epoch from the session, and maps ends and failures', () => {
    expect(roundTrip({ type: 'token', session, epoch: 4, step: 5, tokenId: 77, logprob: -0.5 }, 'fp32', () => 4)).toEqual([
      { type: 'token', session, epoch: 4, step: 5, tokenId: 77, logprob: -0.5 },
    ]);
    for (const reason of ['done', 'cancelled', 'evicted'] as const)
      expect(roundTrip({ type: 'end', session, reason })).toEqual([{ type: 'end', session, reason }]);
    expect(roundTrip({ type: 'failure', session, epoch: 4, message: 'boom' })[0]?.type).toBe('failure');
  });

  it('encodes a SESSION_INIT far larger than the writer’s first buffer (growth keeps every field)', () => {
    const big: SessionInit = { ...init, replyTo: asPeerId('r'.repeat(64)), stop: Array.from({ length: 200 }, (_, i) => i * 7) };
    const m: RingMessage = { type: 'prefill', session: asSessionId('s'.repeat(80)), epoch: 2, step: 0, tokens: [1], init: big };
    expect(roundTrip(m)).toEqual([m]);
  });

  it('drops a prefill whose SESSION_INIT never came', () => {
    const [, act] = ringMessageFrames({ type: 'prefill', session, epoch: 1, step: 0, tokens: [1], init });
    const r = new RingFrameDecoder(() => 1).decode(decodeFrame(encodeFrame(act!)));
    expect(r).toMatchObject({ reason: 'no-init' });
  });
});

describe('fp16', () => {
  it('round-trips every half bit pattern that is a number', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = fromHalfBits(h);
      if (Number.isNaN(v)) continue;
      expect(toHalfBits(v)).toBe(h === 0x8000 ? 0x8000 : h);
    }
  });

  it('rounds to nearest even and saturates to infinity', () => {
    expect(fromHalfBits(toHalfBits(1 + 2 ** -11))).toBe(1); // tie → even
    expect(fromHalfBits(toHalfBits(1 + 3 * 2 ** -11))).toBe(1 + 2 ** -9);
    expect(fromHalfBits(toHalfBits(1e6))).toBe(Infinity);
    expect(Array.from(decodeHalf(encodeHalf(Float32Array.of(0.5, -2, 65504))))).toEqual([0.5, -2, 65504]);
  });
});
