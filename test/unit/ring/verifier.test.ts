import { describe, expect, it } from 'vitest';
import { asPeerId } from '../../../shared/ids.ts';
import { decodeHalf, encodeHalf } from '../../../shared/ring/fp16.ts';
import { pickStepToken } from '../../../shared/ring/step-sampler.ts';
import {
  auditDecision,
  FP16_TOLERANCE,
  FP32_TOLERANCE,
  hiddenMismatch,
  isHalfExact,
  linkCulprits,
  sameTensor,
  tokenMismatch,
  toleranceFor,
} from '../../../shared/ring/verifier.ts';

/** A hidden state like a transformer's: mostly O(1) values, a few large outlier dimensions. */
function hidden(n: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * (i % 97 === 0 ? 40 : 1);
  }
  return out;
}

const greedy = { temperature: 0, topP: 1, topK: 0, seed: 1 };

describe('hiddenMismatch', () => {
  const e = hidden(768);

  it('accepts honest backend differences (relative rounding ~1e-6 per value)', () => {
    const honest = e.map((v, i) => v * (1 + (i % 2 === 0 ? 1e-6 : -1e-6)));
    expect(hiddenMismatch(e, honest, FP32_TOLERANCE)).toBeNull();
  });

  it('catches small noise (1e-3 of the rms per value)', () => {
    const rms = Math.sqrt(e.reduce((a, v) => a + v * v, 0) / e.length);
    const noisy = e.map((v, i) => v + (i % 2 === 0 ? 1 : -1) * 1e-3 * rms);
    expect(hiddenMismatch(e, noisy, FP32_TOLERANCE)).toMatch(/relative L2/);
  });

  it('catches one value changed (which a norm-relative bound alone would dilute)', () => {
    const one = Float32Array.from(e);
    one[5] = (one[5] as number) + 0.05;
    expect(hiddenMismatch(e, one, { ...FP32_TOLERANCE, relL2: 1 })).toMatch(/value 5/);
  });

  it('refuses non-finite values and wrong lengths', () => {
    const nan = Float32Array.from(e);
    nan[3] = Number.NaN;
    expect(hiddenMismatch(e, nan, FP32_TOLERANCE)).toMatch(/NaN/);
    expect(hiddenMismatch(e, e.subarray(1), FP32_TOLERANCE)).toMatch(/values/);
  });

  it('an fp16 link: its rounding passes the fp16 tolerance, which toleranceFor picks for half-exact values', () => {
    const rounded = decodeHalf(encodeHalf(e));
    expect(isHalfExact(rounded)).toBe(true);
    expect(isHalfExact(e)).toBe(false);
    expect(toleranceFor(rounded)).toBe(FP16_TOLERANCE);
    expect(hiddenMismatch(e, rounded, toleranceFor(rounded))).toBeNull();
    expect(hiddenMismatch(e, rounded, FP32_TOLERANCE)).not.toBeNull();
  });
});

describe('tokenMismatch', () => {
  const logits = Float32Array.from([0.1, 2.5, 1.0, 2.4999, -3]);

  it('greedy: the argmax, or a near-tie of it, passes; another token does not', () => {
    expect(tokenMismatch(logits, 1, greedy, 0, pickStepToken, FP32_TOLERANCE)).toBeNull();
    expect(tokenMismatch(logits, 3, greedy, 0, pickStepToken, FP32_TOLERANCE)).toBeNull(); // 1e-4 below the best
    expect(tokenMismatch(logits, 2, greedy, 0, pickStepToken, FP32_TOLERANCE)).toMatch(/re-run picks 1/);
    expect(tokenMismatch(logits, 9, greedy, 0, pickStepToken, FP32_TOLERANCE)).toMatch(/outside/);
  });

  it('sampled: the seeded pick of the step passes', () => {
    const sampling = { temperature: 1, topP: 1, topK: 0, seed: 42 };
    const spread = Float32Array.from([1, 1.5, 0.2, 2, 0.7]);
    for (let step = 0; step < 10; step++) {
      const pick = pickStepToken(spread, sampling, step);
      expect(tokenMismatch(spread, pick, sampling, step, pickStepToken, FP32_TOLERANCE)).toBeNull();
    }
  });
});

describe('links and culprits', () => {
  it('sameTensor compares bits: token ids, a token fed back, hidden states', () => {
    expect(sameTensor({ kind: 'tokens', ids: Int32Array.of(1, 2) }, { kind: 'tokens', ids: Int32Array.of(1, 2) })).toBe(true);
    expect(sameTensor({ kind: 'tokens', ids: Int32Array.of(1, 2) }, { kind: 'tokens', ids: Int32Array.of(1, 3) })).toBe(false);
    expect(sameTensor({ kind: 'token', tokenId: 7 }, { kind: 'tokens', ids: Int32Array.of(7) })).toBe(true);
    expect(sameTensor({ kind: 'token', tokenId: 7 }, { kind: 'tokens', ids: Int32Array.of(8) })).toBe(false);
    const h = hidden(64);
    const moved = Float32Array.from(h);
    moved[10] = Math.fround((moved[10] as number) * (1 + 2 ** -20));
    expect(sameTensor({ kind: 'hidden', data: h, seqLen: 1 }, { kind: 'hidden', data: Float32Array.from(h), seqLen: 1 })).toBe(true);
    expect(sameTensor({ kind: 'hidden', data: h, seqLen: 1 }, { kind: 'hidden', data: moved, seqLen: 1 })).toBe(false);
  });

  it('an inconsistent link is laid on its contributor end(s), never on a trusted member', () => {
    const [t, a, b] = ['t', 'a', 'b'].map(asPeerId) as [ReturnType<typeof asPeerId>, ReturnType<typeof asPeerId>, ReturnType<typeof asPeerId>];
    expect(linkCulprits(t, false, a, true)).toEqual([a]);
    expect(linkCulprits(a, true, t, false)).toEqual([a]);
    expect(linkCulprits(a, true, b, true)).toEqual([a, b]);
    expect(linkCulprits(t, false, t, false)).toEqual([]);
  });
});

describe('auditDecision', () => {
  it('always while a contributor is new, then at the rate; never without contributors', () => {
    expect(auditDecision([], 64, 1, 0)).toBe(false);
    expect(auditDecision([10, 500], 64, 0.1, 0.99)).toBe(true);
    expect(auditDecision([64, 500], 64, 0.1, 0.05)).toBe(true);
    expect(auditDecision([64, 500], 64, 0.1, 0.5)).toBe(false);
  });
});
