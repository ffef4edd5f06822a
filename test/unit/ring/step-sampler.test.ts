import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pickStepToken, tokenLogprob } from '../../../shared/ring/step-sampler.ts';

const logits = Float32Array.from([0.1, 2.5, -1, 2.5, 0.7, 1.9]);

describe('pickStepToken', () => {
  it('is argmax at temperature 0, lowest id on ties', () => {
    expect(pickStepToken(logits, { temperature: 0, topP: 1, topK: 0, seed: 1 }, 0)).toBe(1);
  });

  it('draws from (seed, step) alone: the same step repeats its draw on any ring, in any order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 0, max: 10_000 }), (seed, step) => {
        const sampling = { temperature: 1.3, topP: 0.95, topK: 0, seed };
        const first = pickStepToken(logits, sampling, step);
        pickStepToken(logits, sampling, step + 1); // other steps in between change nothing
        expect(pickStepToken(logits, sampling, step)).toBe(first);
      }),
      { seed: 11, numRuns: 200 },
    );
  });

  it('varies across steps with sampling on (not one fixed draw)', () => {
    const sampling = { temperature: 5, topP: 1, topK: 0, seed: 3 };
    const draws = new Set(Array.from({ length: 64 }, (_, step) => pickStepToken(logits, sampling, step)));
    expect(draws.size).toBeGreaterThan(2);
  });
});

describe('tokenLogprob', () => {
  it('is log-softmax of the chosen logit, ≤ 0', () => {
    const sum = Array.from(logits).reduce((a, v) => a + Math.exp(v), 0);
    expect(tokenLogprob(logits, 4)).toBeCloseTo(0.7 - Math.log(sum), 5);
    expect(tokenLogprob(Float32Array.of(0, -100), 0)).toBeLessThanOrEqual(0);
  });
  it("uses the engine's log Σ exp when given (and ignores a non-finite one)", () => {
    const lse = Math.log(Array.from(logits).reduce((a, v) => a + Math.exp(v), 0));
    expect(tokenLogprob(logits, 4, lse)).toBeCloseTo(0.7 - lse, 6);
    expect(tokenLogprob(logits, 4, 99)).toBeCloseTo(0.7 - 99, 6);
    expect(tokenLogprob(logits, 4, Number.NaN)).toBeCloseTo(0.7 - lse, 5);
    expect(tokenLogprob(logits, 4, 0.5)).toBe(0); // rounding never makes a probability above 1
  });
});
