import { Xoshiro128 } from '../random/xoshiro128.ts';
import { createSampler } from '../sampler/sampler.ts';
import type { SamplingOptions } from './messages.ts';

/** Picks the token of one step from its logits. */
export type PickStepToken = (logits: Float32Array, sampling: SamplingOptions, step: number) => number;

/**
 * The last stage's default pick: greedy at temperature 0; otherwise the shared sampler with a
 * generator seeded from (seed, step) alone, so a re-submitted request draws exactly what the
 * undisturbed run would have drawn at every step, whichever ring it runs on.
 */
export const pickStepToken: PickStepToken = (logits, sampling, step) => {
  const seed = (Math.imul(sampling.seed >>> 0, 0x9e3779b1) ^ Math.imul(step + 1, 0x85ebca6b)) >>> 0;
  return createSampler(sampling, new Xoshiro128(seed)).sample(logits);
};

/** log P(token) under softmax(logits), ≤ 0 (what a TOKEN frame carries). */
export function tokenLogprob(logits: Float32Array, tokenId: number): number {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  return Math.min(0, (logits[tokenId] as number) - max - Math.log(sum));
}
