import type { LlamaArchitecture, RopeScaling } from '../../shared/model/manifest.ts';
import { CheckpointFormatError, UnsupportedArchitectureError } from './errors.ts';
import type { GgufFile } from './gguf-file.ts';

/** Meta's Llama 3.1/3.2 RoPE scaling constants: llama.cpp bakes them into rope_freqs.weight. */
const LLAMA3_LOW_FREQ_FACTOR = 1;
const LLAMA3_HIGH_FREQ_FACTOR = 4;
const LLAMA3_ORIGINAL_CONTEXT = 8192;

/**
 * The model shape from a llama GGUF's metadata (llama.* keys; vocab from tokenizer.ggml.tokens).
 * `ropeFreqs` are the values of rope_freqs.weight when the file has it (Llama 3.1+ scaling).
 */
export function ggufArchitecture(g: GgufFile, ropeFreqs: Float32Array | null): LlamaArchitecture {
  const m = g.metadata;
  const archName = m['general.architecture'];
  if (archName !== 'llama') throw new UnsupportedArchitectureError(g.file, `${String(archName)} (GGUF general.architecture)`, 'llama');
  const num = (key: string, fallback?: number): number => {
    const v = m[`llama.${key}`];
    const n = typeof v === 'bigint' ? Number(v) : v;
    if (typeof n === 'number' && Number.isFinite(n) && n > 0) return shortestFloat32(n);
    if (fallback !== undefined && v === undefined) return fallback;
    throw new CheckpointFormatError(g.file, `metadata llama.${key} is ${v === undefined ? 'missing' : `${String(v)}, expected a positive number`}`);
  };
  const hiddenSize = num('embedding_length');
  const numHeads = num('attention.head_count');
  const tokens = m['tokenizer.ggml.tokens'];
  if (!Array.isArray(tokens) || tokens.length === 0)
    throw new CheckpointFormatError(g.file, 'metadata tokenizer.ggml.tokens is missing: the GGUF carries no vocab');
  const headDim = num('attention.key_length', hiddenSize / numHeads);
  const ropeTheta = num('rope.freq_base', 10000);
  return {
    family: 'llama',
    hiddenSize,
    intermediateSize: num('feed_forward_length'),
    numLayers: num('block_count'),
    numHeads,
    numKvHeads: num('attention.head_count_kv', numHeads),
    headDim,
    vocabSize: tokens.length,
    contextLength: num('context_length'),
    ropeTheta,
    ropeScaling: ropeScaling(g, ropeFreqs, headDim, ropeTheta),
    rmsEps: num('attention.layer_norm_rms_epsilon', 1e-5),
    tiedEmbeddings: !g.tensors.has('output.weight'),
    attentionBias: false,
  };
}

/**
 * GGUF stores eps, theta and factors as float32 (1e-5 reads back as 9.99999974737875e-6): the
 * shortest decimal with the same float32 value gives the number the checkpoint's config had.
 */
function shortestFloat32(x: number): number {
  for (let p = 1; p <= 9; p++) {
    const y = Number(x.toPrecision(p));
    if (Math.fround(y) === Math.fround(x)) return y;
  }
  return x;
}

function ropeScaling(g: GgufFile, ropeFreqs: Float32Array | null, headDim: number, theta: number): RopeScaling | null {
  const type = g.metadata['llama.rope.scaling.type'];
  const factor = g.metadata['llama.rope.scaling.factor'];
  if (ropeFreqs !== null) return llama3FromFactors(g.file, ropeFreqs, headDim, theta);
  if (type === undefined || type === 'none') return null;
  if (type === 'linear' && typeof factor === 'number' && factor > 0) return { type: 'linear', factor: shortestFloat32(factor) };
  throw new CheckpointFormatError(
    g.file,
    `llama.rope.scaling.type ${String(type)} unsupported (expected none, linear with a factor, or llama3 rope_freqs.weight)`,
  );
}

/**
 * llama.cpp stores Llama 3 scaling as per-frequency divisors. We recover the HF parameters: the
 * factor is the largest divisor, the rest are Meta's constants; every divisor must then match
 * what those parameters give, or the file used a scaling we cannot describe.
 */
function llama3FromFactors(file: string, freqs: Float32Array, headDim: number, theta: number): RopeScaling {
  const factor = shortestFloat32(Math.max(...freqs));
  const scaling: RopeScaling = {
    type: 'llama3',
    factor,
    lowFreqFactor: LLAMA3_LOW_FREQ_FACTOR,
    highFreqFactor: LLAMA3_HIGH_FREQ_FACTOR,
    originalMaxPositions: LLAMA3_ORIGINAL_CONTEXT,
  };
  const expected = llama3Factors(scaling, headDim, theta);
  if (freqs.length !== expected.length || expected.some((e, i) => Math.abs(e - (freqs[i] as number)) > 1e-4 * e)) {
    throw new CheckpointFormatError(file, `rope_freqs.weight does not match Llama 3 scaling (factor ${factor}, low 1, high 4, original context 8192)`);
  }
  return scaling;
}

/** The divisors llama.cpp's converter writes for Llama 3 scaling (one per frequency pair). */
export function llama3Factors(s: RopeScaling, headDim: number, theta: number): number[] {
  const low = s.lowFreqFactor ?? LLAMA3_LOW_FREQ_FACTOR;
  const high = s.highFreqFactor ?? LLAMA3_HIGH_FREQ_FACTOR;
  const orig = s.originalMaxPositions ?? LLAMA3_ORIGINAL_CONTEXT;
  return Array.from({ length: headDim / 2 }, (_, i) => {
    const wavelen = (2 * Math.PI) / theta ** (-(2 * i) / headDim);
    if (wavelen < orig / high) return 1;
    if (wavelen > orig / low) return s.factor;
    const smooth = (orig / wavelen - low) / (high - low);
    return 1 / ((1 - smooth) / s.factor + smooth);
  });
}
