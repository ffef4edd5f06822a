import { describe, expect, it } from 'vitest';
import { asPeerId, asSessionId } from '../../../shared/ids.ts';
import type { RingMessage } from '../../../shared/ring/messages.ts';
import { isRingMessage, ringMessageFrames, RingFrameDecoder } from '../../../shared/ring/ring-frames.ts';
import { decodeFrame, encodeFrame } from '../../../shared/wire/frame-codec.ts';

const S = asSessionId('0123456789abcdef0123456789abcdef.1');

/** Through the wire codec and a fresh decoder, as a receiving peer would see them. */
function roundTrip(m: RingMessage, dtype: 'fp32' | 'fp16' = 'fp32'): RingMessage[] {
  const d = new RingFrameDecoder(() => 3);
  const out: RingMessage[] = [];
  for (const f of ringMessageFrames(m, dtype)) {
    const r = d.decode(decodeFrame(encodeFrame(f)));
    if (r !== null && isRingMessage(r)) out.push(r);
  }
  return out;
}

describe('audits and the audit flag on the wire', () => {
  it('SESSION_INIT carries audit only when set (older frames are byte for byte unchanged)', () => {
    const init = { replyTo: asPeerId('me'), maxTokens: 8, stop: [2], sampling: { temperature: 0, topP: 1, topK: 0, seed: 5 } };
    const plain = ringMessageFrames({ type: 'prefill', session: S, epoch: 3, step: 0, tokens: [1, 2], init })[0]!;
    const flagged = ringMessageFrames({ type: 'prefill', session: S, epoch: 3, step: 0, tokens: [1, 2], init: { ...init, audit: true } })[0]!;
    expect(encodeFrame(flagged).byteLength).toBe(encodeFrame(plain).byteLength + 1);
    expect(decodeFrame(encodeFrame(plain))).not.toHaveProperty('audit');
    expect(decodeFrame(encodeFrame(flagged))).toMatchObject({ audit: true });
    const [m] = roundTrip({ type: 'prefill', session: S, epoch: 3, step: 0, tokens: [1, 2], init: { ...init, audit: true } });
    expect(m?.type === 'prefill' && m.init.audit).toBe(true);
  });

  it('an audit of hidden states and one of a token come back whole', () => {
    const hidden = Float32Array.from({ length: 8 }, (_, i) => i / 3);
    const a: RingMessage = {
      type: 'audit',
      session: S,
      epoch: 3,
      step: 4,
      stage: 1,
      input: { kind: 'hidden', data: hidden, seqLen: 2 },
      output: { kind: 'hidden', data: hidden.map((v) => v * 2), seqLen: 2 },
    };
    expect(roundTrip(a)).toEqual([a]);
    const t: RingMessage = {
      type: 'audit',
      session: S,
      epoch: 3,
      step: 0,
      stage: 2,
      input: { kind: 'tokens', ids: Int32Array.of(1, 5, 9) },
      output: { kind: 'token', tokenId: 42 },
    };
    expect(roundTrip(t)).toEqual([t]);
  });

  it('an output part without its input is refused, not paired with another step', () => {
    const d = new RingFrameDecoder(() => 3);
    const m: RingMessage = {
      type: 'audit',
      session: S,
      epoch: 3,
      step: 4,
      stage: 1,
      input: { kind: 'tokens', ids: Int32Array.of(1) },
      output: { kind: 'token', tokenId: 2 },
    };
    const [, out] = ringMessageFrames(m);
    expect(d.decode(out!)).toMatchObject({ reason: 'bad-audit' });
  });
});
