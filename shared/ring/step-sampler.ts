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

/**
 * log P(token) under softmax(logits), ≤ 0 (what a TOKEN frame carries). On every token's critical
 * path at the last stage: with the engine's `logSumExp` it is one subtraction; without, plain
 * indexed loops (an iterator over 32 000 logits costs ~10×; the exps still ~1 ms here).
 */
export function tokenLogprob(logits: Float32Array, tokenId: number, logSumExp?: number): number {
  if (logSumExp !== undefined && Number.isFinite(logSumExp)) return Math.min(0, (logits[tokenId] as number) - logSumExp);
  const n = logits.length;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = logits[i] as number;
    if (v > max) max = v;
  }
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp((logits[i] as number) - max);
  return Math.min(0, (logits[tokenId] as number) - max - Math.log(sum));
}
