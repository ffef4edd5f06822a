import { describe, expect, it } from 'vitest';
import { Xoshiro128 } from '../../../shared/random/xoshiro128.ts';
import { argmax, createSampler, SamplingParamsError } from '../../../shared/sampler/sampler.ts';

const logits = Float32Array.from([1, 3, 3, 0.5, 2.9, -1]);

function histogram(params: Parameters<typeof createSampler>[0], seed: number, n = 4000): number[] {
  const s = createSampler(params, new Xoshiro128(seed));
  const counts = new Array<number>(logits.length).fill(0);
  for (let i = 0; i < n; i++) {
    const id = s.sample(logits);
    counts[id] = (counts[id] as number) + 1;
  }
  return counts;
}

describe('sampler', () => {
  it('greedy picks the largest logit, lowest index on ties', () => {
    expect(argmax(logits)).toBe(1);
    expect(createSampler({}, new Xoshiro128(1)).sample(logits)).toBe(1);
    expect(createSampler({ temperature: 0, topK: 3 }, new Xoshiro128(1)).sample(logits)).toBe(1);
  });

  it('is reproducible for a seed and differs across seeds', () => {
    const run = (seed: number): number[] => {
      const s = createSampler({ temperature: 1 }, new Xoshiro128(seed));
      return Array.from({ length: 64 }, () => s.sample(logits));
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });

  it('top-k keeps only the k most likely tokens', () => {
    const counts = histogram({ temperature: 1, topK: 2 }, 3);
    expect(counts.filter((c, i) => c > 0 && i !== 1 && i !== 2)).toEqual([]);
    expect(counts[1]).toBeGreaterThan(0);
    expect(counts[2]).toBeGreaterThan(0);
  });

  it('top-p keeps the smallest set reaching p', () => {
    // probs ≈ [.05, .36, .36, .03, .19, .01]: p = 0.5 keeps ids 1 and 2 only.
    const counts = histogram({ temperature: 1, topP: 0.5 }, 4);
    expect(counts.map((c) => c > 0)).toEqual([false, true, true, false, false, false]);
  });

  it('follows the softmax distribution at temperature 1', () => {
    const n = 20000;
    const counts = histogram({ temperature: 1 }, 5, n);
    const e = Array.from(logits, (l) => Math.exp(l));
    const z = e.reduce((a, b) => a + b, 0);
    counts.forEach((c, i) => expect(Math.abs(c / n - (e[i] as number) / z)).toBeLessThan(0.02));
  });

  it('rejects out-of-range parameters', () => {
    const rng = new Xoshiro128(1);
    expect(() => createSampler({ temperature: -1 }, rng)).toThrow(SamplingParamsError);
    expect(() => createSampler({ topP: 0 }, rng)).toThrow(SamplingParamsError);
    expect(() => createSampler({ topK: 1.5 }, rng)).toThrow(SamplingParamsError);
  });
});
