import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { byteLevelTokenizer } from '../../node-peer/convert/demo-model.ts';
import { llamaUnits } from '../../node-peer/convert/llama-units.ts';
import { openModelPackage, type ModelPackage } from '../../node-peer/model/open-model-package.ts';
import { writeModelPackage } from '../../node-peer/model/write-model-package.ts';
import type { Stage } from '../../shared/engine/engine.ts';
import { runChain } from '../../shared/generate/stage-chain.ts';
import type { SessionId } from '../../shared/ids.ts';
import type { LayerRange } from '../../shared/model/layer-range.ts';
import { unitsForRange, type LlamaArchitecture, type UnitName, type WeightDType } from '../../shared/model/manifest.ts';
import { fillNormal, Xoshiro128 } from '../../shared/random/xoshiro128.ts';

/** A small llama shape with grouped-query attention; override fields per test. */
export function testArchitecture(overrides: Partial<LlamaArchitecture> = {}): LlamaArchitecture {
  return {
    family: 'llama',
    hiddenSize: 32,
    intermediateSize: 48,
    numLayers: 3,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 8,
    vocabSize: 260,
    contextLength: 64,
    ropeTheta: 10000,
    ropeScaling: null,
    rmsEps: 1e-5,
    tiedEmbeddings: false,
    attentionBias: false,
    ...overrides,
  };
}

/**
 * Writes a seeded random package (every tensor, norms and biases included, non-trivial) into a
 * fresh temp dir and opens it. Weights are larger than a trained model's so that a wrong wiring
 * changes the logits visibly.
 */
export async function writeRandomPackage(arch: LlamaArchitecture, dtype: WeightDType = 'fp32', seed = 1): Promise<{ pkg: ModelPackage; cleanup: () => void }> {
  const dir = join(mkdtempSync(join(tmpdir(), 'ringmesh-engine-')), 'model');
  const rng = new Xoshiro128(seed);
  await writeModelPackage(dir, {
    name: `random-${seed}`,
    architecture: arch,
    dtype,
    pieceSize: 4096,
    tokenizer: byteLevelTokenizer(arch.vocabSize),
    units: llamaUnits(
      arch,
      {
        get(name, shape) {
          const out = fillNormal(rng, new Float32Array(shape.reduce((p, d) => p * d, 1)), name.endsWith('norm.weight') ? 0.2 : 0.3);
          if (name.endsWith('norm.weight')) for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) + 1;
          return Promise.resolve(out);
        },
      },
      dtype,
    ),
  });
  return { pkg: await openModelPackage(dir), cleanup: () => rmSync(join(dir, '..'), { recursive: true, force: true }) };
}

/** Every unit a range needs, read and verified. */
export async function readRangeUnits(pkg: ModelPackage, range: LayerRange): Promise<Map<UnitName, Uint8Array>> {
  const units = new Map<UnitName, Uint8Array>();
  for (const u of unitsForRange(pkg.manifest.architecture.numLayers, range.start, range.end)) units.set(u, await pkg.readUnit(u));
  return units;
}

/** Index of the largest value (first on ties). */
export function argmax(xs: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if ((xs[i] as number) > (xs[best] as number)) best = i;
  return best;
}

/** Largest absolute difference between two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** Greedy decoding through a chain for one session: `steps` logits, the first after the whole prompt. */
export async function greedyDecode(
  stages: readonly Stage[],
  session: SessionId,
  prompt: readonly number[],
  steps: number,
): Promise<{ ids: number[]; logits: Float32Array[] }> {
  const ids: number[] = [];
  const logits: Float32Array[] = [];
  let next = prompt;
  for (let i = 0; i < steps; i++) {
    const l = await runChain(stages, session, next);
    logits.push(l);
    ids.push(argmax(l));
    next = [ids.at(-1) as number];
  }
  return { ids, logits };
}
