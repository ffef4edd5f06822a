import { RingmeshError } from '../errors.ts';
import type { Rng } from '../random/xoshiro128.ts';

export interface SamplingParams {
  /** 0 (default) = greedy argmax; otherwise logits are divided by it before softmax. */
  readonly temperature?: number;
  /** Keep only the k most likely tokens (0 or absent: all). */
  readonly topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1 or absent: all). */
  readonly topP?: number;
}

/** Sampling parameters out of range (negative temperature, top-p outside (0, 1], …). */
export class SamplingParamsError extends RingmeshError {
  constructor(
    readonly param: string,
    value: number,
    expected: string,
  ) {
    super(`sampling parameter ${param} = ${value}: expected ${expected}`);
  }
}

/** Picks the next token from logits. */
export interface Sampler {
  sample(logits: Float32Array): number;
}

/** Index of the largest logit; the lowest index wins ties (as llama2.c's argmax does). */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if ((logits[i] as number) > (logits[best] as number)) best = i;
  return best;
}

/**
 * A sampler for `params`. Randomness comes only from the injected `rng`, so the same seed and the
 * same logits give the same tokens on every peer and platform (math in float64, stable sort).
 */
export function createSampler(params: SamplingParams, rng: Rng): Sampler {
  const t = params.temperature ?? 0;
  const topK = params.topK ?? 0;
  const topP = params.topP ?? 1;
  if (!(t >= 0) || !Number.isFinite(t)) throw new SamplingParamsError('temperature', t, 'a finite number ≥ 0');
  if (!Number.isInteger(topK) || topK < 0) throw new SamplingParamsError('topK', topK, 'an integer ≥ 0');
  if (!(topP > 0 && topP <= 1)) throw new SamplingParamsError('topP', topP, 'a number in (0, 1]');
  if (t === 0) return { sample: argmax };
  return { sample: (logits) => sampleFiltered(logits, t, topK, topP, rng.nextFloat()) };
}

function sampleFiltered(logits: Float32Array, temperature: number, topK: number, topP: number, coin: number): number {
  const max = logits[argmax(logits)] as number;
  // Candidates by probability, descending; ties keep the lower id first (stable sort).
  let ids = Array.from(logits.keys());
  const probs = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    probs[i] = Math.exp(((logits[i] as number) - max) / temperature);
    sum += probs[i] as number;
  }
  for (let i = 0; i < probs.length; i++) probs[i] = (probs[i] as number) / sum;
  if (topK > 0 || topP < 1) {
    ids.sort((a, b) => (probs[b] as number) - (probs[a] as number));
    if (topK > 0) ids = ids.slice(0, topK);
    if (topP < 1) {
      let mass = 0;
      let keep = 0;
      while (keep < ids.length && mass < topP) mass += probs[ids[keep++] as number] as number;
      ids = ids.slice(0, keep);
    }
  }
  const total = ids.reduce((s, id) => s + (probs[id] as number), 0);
  let r = coin * total;
  for (const id of ids) {
    r -= probs[id] as number;
    if (r < 0) return id;
  }
  return ids[ids.length - 1] as number; // rounding left r ≥ 0: the last candidate
}
