import { afterAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../../shared/engine/engine.ts';
import { buildStageGraph } from '../../../shared/graph/build-stage-graph.ts';
import { runChain } from '../../../shared/generate/stage-chain.ts';
import { asSessionId } from '../../../shared/ids.ts';
import type { LlamaArchitecture } from '../../../shared/model/manifest.ts';
import { dequantize, isQuantDType } from '../../../shared/model/quant-blocks.ts';
import { dequantizeStageUnits } from '../../../shared/engine/dequantize-stage-units.ts';
import { OrtWebEngine } from '../../../shared/engine/ort-web-engine.ts';
import { maxAbsDiff, readRangeUnits, testArchitecture, writeRandomPackage } from '../../util/engine-fixtures.ts';
import { ReferenceForward } from '../../util/reference-forward.ts';

// WASM's linearWeights 'fp32': q8/q4 linear weights widened once at load, read by plain Gemm.
const engines: Engine[] = [];
const cleanups: (() => void)[] = [];
afterAll(async () => {
  for (const e of engines) await e.dispose();
  cleanups.forEach((c) => c());
});

// intermediate 80: a partial last block in down's rows.
const arch: LlamaArchitecture = testArchitecture({ hiddenSize: 64, intermediateSize: 80, headDim: 16 });
const whole = { start: 0, end: arch.numLayers };

describe.each(['q8', 'q4'] as const)('%s package widened for WASM', (dtype) => {
  it('every quantized linear weight becomes fp32 holding exactly the dequantized values; the embedding stays q8', async () => {
    const { pkg, cleanup } = await writeRandomPackage(arch, dtype, 5);
    cleanups.push(cleanup);
    const units = await readRangeUnits(pkg, whole);
    const out = dequantizeStageUnits(pkg.manifest, units);
    for (const t of pkg.manifest.tensors) {
      const w = out.manifest.tensors.find((x) => x.name === t.name);
      if (w === undefined) throw new Error(`${t.name} lost`);
      const before = (units.get(t.unit) as Uint8Array).subarray(t.offset, t.offset + t.bytes);
      const after = (out.units.get(t.unit) as Uint8Array).subarray(w.offset, w.offset + w.bytes);
      if (t.name === 'embed.weight' || !isQuantDType(t.dtype)) {
        expect(w.dtype).toBe(t.dtype);
        expect(after).toEqual(before);
      } else {
        expect(w.dtype).toBe('fp32');
        const [rows, cols] = t.shape as [number, number];
        expect(new Float32Array(after.slice().buffer)).toEqual(dequantize(t.dtype, before, rows, cols));
      }
    }
    const graph = new TextDecoder('latin1').decode(buildStageGraph(out.manifest, whole).model);
    expect(graph).toContain('Gemm');
    expect(graph).not.toContain('MatMulNBits');
  });

  it('the WASM engine with linearWeights fp32 matches the fp32 reference forward over the dequantized weights', async () => {
    const { pkg, cleanup } = await writeRandomPackage(arch, dtype, 5);
    cleanups.push(cleanup);
    const e = new OrtWebEngine({ backend: 'wasm', linearWeights: 'fp32' });
    engines.push(e);
    const stages = [
      await e.loadStage({ manifest: pkg.manifest, range: { start: 0, end: 1 }, units: await readRangeUnits(pkg, { start: 0, end: 1 }) }),
      await e.loadStage({
        manifest: pkg.manifest,
        range: { start: 1, end: arch.numLayers },
        units: await readRangeUnits(pkg, { start: 1, end: arch.numLayers }),
      }),
    ];
    const reference = new ReferenceForward(pkg.manifest, await readRangeUnits(pkg, whole));
    const session = asSessionId('w');
    for (const chunk of [[1, 72, 101, 108], [44], [32]]) {
      const logits = await runChain(stages, session, chunk);
      let expected: number[] = [];
      for (const t of chunk) expected = reference.step(t);
      // fp32 math on both sides (no activation rounding, unlike MatMulNBits accuracy_level 4).
      expect(maxAbsDiff(logits, expected) / Math.max(1, ...expected.map(Math.abs))).toBeLessThan(1e-4);
    }
  });
});
