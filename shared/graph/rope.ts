import type { LlamaArchitecture } from '../model/manifest.ts';
import { UnsupportedRopeScalingError } from './errors.ts';

/**
 * RoPE inverse frequencies for the rotate-half layout: inv[i] = theta^(-2i/headDim), i < headDim/2,
 * adjusted for 'linear' (divide by factor) and 'llama3' (Meta's piecewise wavelength rule) scaling.
 */
export function ropeInverseFrequencies(arch: LlamaArchitecture, model = 'model'): Float32Array {
  const half = arch.headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(arch.ropeTheta, (2 * i) / arch.headDim);
  const s = arch.ropeScaling;
  if (s === null) return Float32Array.from(inv);
  if (s.type === 'linear') return Float32Array.from(inv, (f) => f / s.factor);
  if (s.type === 'llama3') {
    const low = s.lowFreqFactor ?? 1;
    const high = s.highFreqFactor ?? 4;
    const original = s.originalMaxPositions ?? 8192;
    const lowWavelen = original / low;
    const highWavelen = original / high;
    return Float32Array.from(inv, (f) => {
      const wavelen = (2 * Math.PI) / f;
      if (wavelen < highWavelen) return f;
      if (wavelen > lowWavelen) return f / s.factor;
      const smooth = (original / wavelen - low) / (high - low);
      return (1 - smooth) * (f / s.factor) + smooth * f;
    });
  }
  throw new UnsupportedRopeScalingError(model, s.type);
}

/**
 * cos and sin tables [seqLen, headDim] for positions start … start+seqLen-1, each half repeated
 * (rotate-half layout). Angles are computed in float32 as llama2.c does (pos * freq, then cos).
 */
export function ropeTables(invFreq: Float32Array, start: number, seqLen: number): { cos: Float32Array; sin: Float32Array } {
  const half = invFreq.length;
  const dim = half * 2;
  const cos = new Float32Array(seqLen * dim);
  const sin = new Float32Array(seqLen * dim);
  for (let p = 0; p < seqLen; p++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround((start + p) * (invFreq[i] as number));
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      cos[p * dim + i] = c;
      cos[p * dim + half + i] = c;
      sin[p * dim + i] = s;
      sin[p * dim + half + i] = s;
    }
  }
  return { cos, sin };
}

/** Additive causal mask [seqLen, past+seqLen]: query i (position past+i) sees keys 0 … past+i. */
export function causalMask(past: number, seqLen: number): Float32Array {
  const total = past + seqLen;
  const mask = new Float32Array(seqLen * total);
  for (let i = 0; i < seqLen; i++) {
    // A large finite negative rather than -Infinity: some backends turn -inf - -inf into NaN.
    for (let j = past + i + 1; j < total; j++) mask[i * total + j] = -1e9;
  }
  return mask;
}
