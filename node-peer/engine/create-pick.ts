import type { PickToken } from '../../shared/generate/generate.ts';
import { Xoshiro128 } from '../../shared/random/xoshiro128.ts';
import { createSampler } from '../../shared/sampler/sampler.ts';

export interface PickOptions {
  readonly temperature: number;
  readonly topP: number;
  readonly topK?: number;
  readonly seed: number;
}

/** The token picker for the CLI's sampling options: greedy at temperature 0, else seeded sampling. */
export function createPick(o: PickOptions): PickToken {
  const sampler = createSampler({ temperature: o.temperature, topP: o.topP, ...(o.topK === undefined ? {} : { topK: o.topK }) }, new Xoshiro128(o.seed));
  return (logits) => sampler.sample(logits);
}
