import type { ModelId } from '../../shared/ids.ts';
import type { LlamaArchitecture, ModelManifest, RopeScaling } from '../../shared/model/manifest.ts';
import { fillNormal, Xoshiro128 } from '../../shared/random/xoshiro128.ts';
import { byteLevelVocab } from '../../shared/tokenizer/byte-level-vocab.ts';
import { serializeLlama2cVocab } from '../../shared/tokenizer/llama2c-vocab.ts';
import { writeModelPackage, type PackageSpec } from '../model/write-model-package.ts';
import type { ConvertOptions } from './convert-options.ts';
import { InvalidModelShapeError } from './errors.ts';
import { llamaUnits, type TensorSource } from './llama-units.ts';

export interface DemoModelShape {
  readonly layers: number;
  readonly hidden: number;
  readonly heads: number;
  readonly kvHeads?: number;
  readonly vocab: number;
  /** Default: 8/3 × hidden rounded up to a multiple of 32 (Llama's ratio). */
  readonly intermediate?: number;
  readonly context?: number;
  readonly seed?: number;
  readonly tied?: boolean;
  /** Default 10000 (llama2). */
  readonly ropeTheta?: number;
  /** Default none; e.g. Llama 3.2's { type: 'llama3', factor: 32, … }. */
  readonly ropeScaling?: RopeScaling | null;
}

/** Weights ~ N(0, 0.02²), norms = 1: activations stay in a sane range at any depth we test. */
const INIT_STD = 0.02;

function demoArchitecture(s: DemoModelShape): LlamaArchitecture {
  const kvHeads = s.kvHeads ?? s.heads;
  const bad = (what: string): never => {
    throw new InvalidModelShapeError(what);
  };
  if (s.hidden % s.heads !== 0 || (s.hidden / s.heads) % 2 !== 0) bad(`hidden ${s.hidden} must split into ${s.heads} heads of even size`);
  if (s.heads % kvHeads !== 0) bad(`kv heads ${kvHeads} must divide heads ${s.heads}`);
  if (s.vocab < 259) bad(`vocab ${s.vocab} too small: the byte-level tokenizer needs at least 259 ids`);
  return {
    family: 'llama',
    hiddenSize: s.hidden,
    intermediateSize: s.intermediate ?? Math.ceil((s.hidden * 8) / 3 / 32) * 32,
    numLayers: s.layers,
    numHeads: s.heads,
    numKvHeads: kvHeads,
    headDim: s.hidden / s.heads,
    vocabSize: s.vocab,
    contextLength: s.context ?? 2048,
    ropeTheta: s.ropeTheta ?? 10000,
    ropeScaling: s.ropeScaling ?? null,
    rmsEps: 1e-5,
    tiedEmbeddings: s.tied ?? true,
    attentionBias: false,
  };
}

/** A seeded random model with a byte-level llama2.c tokenizer, written unit by unit. */
export async function writeDemoModel(
  outDir: string,
  shape: DemoModelShape,
  options: ConvertOptions = {},
): Promise<{ manifest: ModelManifest; modelId: ModelId }> {
  const arch = demoArchitecture(shape);
  const seed = shape.seed ?? 0;
  const dtype = options.dtype ?? 'fp32';
  return writeModelPackage(outDir, {
    name: options.name ?? `demo-${arch.numLayers}x${arch.hiddenSize}-seed${seed}`,
    architecture: arch,
    dtype,
    ...(options.pieceSize === undefined ? {} : { pieceSize: options.pieceSize }),
    tokenizer: byteLevelTokenizer(arch.vocabSize),
    units: llamaUnits(arch, randomSource(seed, arch.tiedEmbeddings), dtype),
  });
}

/** Each tensor draws from its own stream seeded by (seed, name): a tied head regenerates the embedding. */
/** The byte-level llama2c tokenizer every random model carries (BOS 1, EOS 2, no chat template). */
export function byteLevelTokenizer(vocabSize: number): PackageSpec['tokenizer'] {
  const vocab = byteLevelVocab(vocabSize);
  return {
    kind: 'llama2c',
    file: 'tokenizer.bin',
    data: serializeLlama2cVocab(vocab.pieces, vocab.scores),
    bos: 1,
    eos: [2],
    addBos: true,
    chatTemplate: null,
  };
}

function randomSource(seed: number, tied: boolean): TensorSource {
  return {
    get(name, shape) {
      const out = new Float32Array(shape.reduce((p, d) => p * d, 1));
      if (name.endsWith('norm.weight')) return Promise.resolve(out.fill(1));
      const stream = tied && name === 'lm_head.weight' ? 'embed.weight' : name;
      return Promise.resolve(fillNormal(new Xoshiro128(seed ^ fnv1a(stream)), out, INIT_STD));
    },
  };
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
