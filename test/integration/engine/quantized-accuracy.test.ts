import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convertLlama2c } from '../../../node-peer/convert/convert-llama2c.ts';
import { OrtNodeEngine } from '../../../node-peer/engine/ort-node-engine.ts';
import type { Engine } from '../../../shared/engine/engine.ts';
import { KernelEngine } from '../../../shared/engine/kernel/kernel-engine.ts';
import { openModelPackage } from '../../../node-peer/model/open-model-package.ts';
import { runChain } from '../../../shared/generate/stage-chain.ts';
import { asSessionId } from '../../../shared/ids.ts';
import type { WeightDType } from '../../../shared/model/manifest.ts';
import { argmax, readRangeUnits } from '../../util/engine-fixtures.ts';
import { goldenCases, MODELS_DIR, type GoldenCase } from '../../util/models.ts';

// Teacher-forced agreement of q8/q4 packages with fp32 on run.c's golden sequences: at every
// position of prompt + generated ids, is the quantized model's argmax the fp32 model's, and how far
// apart are the two next-token distributions (KL(fp32 ‖ quantized), nats). docs/model-package.md
// lists the figures.
const work = mkdtempSync(join(tmpdir(), 'ringmesh-qacc-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

type EngineName = 'node' | 'kernel';
let conversions = 0;

async function teacherForced(c: GoldenCase, dtype: WeightDType, label: string, engineName: EngineName = 'node'): Promise<Float32Array[]> {
  const dir = join(work, `${label}-${dtype}-${engineName}-${conversions++}`);
  await convertLlama2c(join(MODELS_DIR, c.model), join(MODELS_DIR, c.tokenizer), dir, { dtype });
  const pkg = await openModelPackage(dir);
  const engine: Engine = engineName === 'node' ? new OrtNodeEngine({ threads: 1 }) : new KernelEngine();
  try {
    const range = { start: 0, end: pkg.manifest.architecture.numLayers };
    const stage = await engine.loadStage({ manifest: pkg.manifest, range, units: await readRangeUnits(pkg, range) });
    const session = asSessionId('tf');
    const out: Float32Array[] = [];
    for (const t of [...c.prompt_ids, ...c.generated_ids].slice(0, -1)) out.push(Float32Array.from(await runChain([stage], session, [t])));
    return out;
  } finally {
    await engine.dispose();
  }
}

function logSoftmax(x: Float32Array): Float64Array {
  const m = Math.max(...x);
  const z = Math.log(x.reduce((a, v) => a + Math.exp(v - m), 0)) + m;
  return Float64Array.from(x, (v) => v - z);
}

interface Agreement {
  agree: number;
  total: number;
  meanKl: number;
}

function compare(ref: Float32Array[], got: Float32Array[]): Agreement {
  let agree = 0;
  let kl = 0;
  ref.forEach((r, i) => {
    const g = got[i] as Float32Array;
    if (argmax(g) === argmax(r)) agree++;
    const p = logSoftmax(r);
    const q = logSoftmax(g);
    kl += p.reduce((a, lp, j) => a + Math.exp(lp) * (lp - (q[j] as number)), 0);
  });
  return { agree, total: ref.length, meanKl: kl / ref.length };
}

/** The quantized runs on `engine` against fp32 on onnxruntime-node. */
async function agreement(model: string, engine: EngineName = 'node'): Promise<Record<'q8' | 'q4', Agreement>> {
  const sums = { q8: { agree: 0, total: 0, kl: 0 }, q4: { agree: 0, total: 0, kl: 0 } };
  for (const [i, c] of goldenCases()
    .filter((k) => k.model === model)
    .entries()) {
    const ref = await teacherForced(c, 'fp32', `${model}-${i}`);
    for (const dtype of ['q8', 'q4'] as const) {
      const a = compare(ref, await teacherForced(c, dtype, `${model}-${i}`, engine));
      sums[dtype].agree += a.agree;
      sums[dtype].total += a.total;
      sums[dtype].kl += a.meanKl * a.total;
    }
  }
  const done = (s: { agree: number; total: number; kl: number }): Agreement => ({ agree: s.agree, total: s.total, meanKl: s.kl / s.total });
  const result = { q8: done(sums.q8), q4: done(sums.q4) };
  for (const d of ['q8', 'q4'] as const) {
    const r = result[d];
    process.stdout.write(
      `${model} ${d} (${engine}): top-1 ${((100 * r.agree) / r.total).toFixed(1)}% (${r.agree}/${r.total}), mean KL ${r.meanKl.toExponential(2)}\n`,
    );
  }
  return result;
}

describe('quantized packages against fp32, teacher-forced over the golden sequences', () => {
  it('aidreams260K: q8 top-1 ≥ 99%, q4 ≥ 90%', async () => {
    const r = await agreement('aidreams260K.bin');
    expect(r.q8.agree / r.q8.total).toBeGreaterThanOrEqual(0.99);
    expect(r.q4.agree / r.q4.total).toBeGreaterThanOrEqual(0.9);
    expect(r.q8.meanKl).toBeLessThan(1e-3);
  });

  it('aidreams260K on the WASM kernel engine: q8 top-1 ≥ 99%, q4 ≥ 90%', async () => {
    const r = await agreement('aidreams260K.bin', 'kernel');
    expect(r.q8.agree / r.q8.total).toBeGreaterThanOrEqual(0.99);
    expect(r.q4.agree / r.q4.total).toBeGreaterThanOrEqual(0.9);
    expect(r.q8.meanKl).toBeLessThan(1e-3);
  });

  it('stories260K: q8 stays far closer to fp32 than q4 (its golden prompt is out of distribution: see docs/model-package.md)', async () => {
    const r = await agreement('stories260K.bin');
    expect(r.q8.agree).toBeGreaterThan(r.q4.agree);
    expect(r.q8.meanKl * 20).toBeLessThan(r.q4.meanKl);
  });
});
