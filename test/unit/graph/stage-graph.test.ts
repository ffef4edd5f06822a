import { afterAll, describe, expect, it } from 'vitest';
import { OrtNodeEngine } from '../../../node-peer/engine/ort-node-engine.ts';
import type { Engine, Stage } from '../../../shared/engine/engine.ts';
import type { LayerRange } from '../../../shared/model/layer-range.ts';
import { buildStageGraph } from '../../../shared/graph/build-stage-graph.ts';
import { InvalidLayerRangeError, StageWeightError, UnsupportedRopeScalingError } from '../../../shared/graph/errors.ts';
import { runChain } from '../../../shared/generate/stage-chain.ts';
import { asSessionId } from '../../../shared/ids.ts';
import type { LlamaArchitecture, ModelManifest, WeightDType } from '../../../shared/model/manifest.ts';
import { OrtWebEngine } from '../../../shared/engine/ort-web-engine.ts';
import { maxAbsDiff, readRangeUnits, testArchitecture, writeRandomPackage } from '../../util/engine-fixtures.ts';
import { ReferenceForward } from '../../util/reference-forward.ts';

const engines: Engine[] = [];
const cleanups: (() => void)[] = [];
afterAll(async () => {
  for (const e of engines) await e.dispose();
  cleanups.forEach((c) => c());
});

function node(): Engine {
  const e = new OrtNodeEngine({ threads: 1 });
  engines.push(e);
  return e;
}

async function loadChain(
  engine: Engine,
  arch: LlamaArchitecture,
  dtype: WeightDType,
  ranges: LayerRange[],
): Promise<{ stages: Stage[]; reference: ReferenceForward; manifest: ModelManifest }> {
  const { pkg, cleanup } = await writeRandomPackage(arch, dtype, 7);
  cleanups.push(cleanup);
  const stages: Stage[] = [];
  for (const range of ranges) stages.push(await engine.loadStage({ manifest: pkg.manifest, range, units: await readRangeUnits(pkg, range) }));
  const all = await readRangeUnits(pkg, { start: 0, end: arch.numLayers });
  return { stages, reference: new ReferenceForward(pkg.manifest, all), manifest: pkg.manifest };
}

/** Feeds `chunks` of tokens one run each (prefill, chunked prefill, decode) and checks every run's logits. */
async function expectMatchesReference(stages: Stage[], reference: ReferenceForward, chunks: number[][]): Promise<void> {
  const session = asSessionId('ref');
  for (const chunk of chunks) {
    const logits = await runChain(stages, session, chunk);
    let expected: number[] = [];
    for (const t of chunk) expected = reference.step(t);
    const scale = Math.max(1, ...expected.map(Math.abs));
    expect(maxAbsDiff(logits, expected) / scale).toBeLessThan(2e-5);
  }
}

const prompt = [1, 72, 101, 108, 108];

describe('buildStageGraph on onnxruntime-node vs the TypeScript reference forward', () => {
  it('GQA (4 heads, 2 kv heads): prefill then decode', async () => {
    const { stages, reference } = await loadChain(node(), testArchitecture(), 'fp32', [{ start: 0, end: 3 }]);
    await expectMatchesReference(stages, reference, [prompt, [44], [32], [119]]);
  });

  it('chunked prefill: several tokens after a non-empty cache', async () => {
    const { stages, reference } = await loadChain(node(), testArchitecture(), 'fp32', [{ start: 0, end: 3 }]);
    await expectMatchesReference(stages, reference, [prompt.slice(0, 3), prompt.slice(3), [7, 8, 9], [10]]);
  });

  it('split into stages passing hidden states', async () => {
    const { stages, reference } = await loadChain(node(), testArchitecture(), 'fp32', [
      { start: 0, end: 1 },
      { start: 1, end: 2 },
      { start: 2, end: 3 },
    ]);
    await expectMatchesReference(stages, reference, [prompt, [44], [32]]);
  });

  it('Qwen2-style q/k/v biases with plain multi-head attention', async () => {
    const arch = testArchitecture({ attentionBias: true, numKvHeads: 4 });
    const { stages, reference } = await loadChain(node(), arch, 'fp32', [{ start: 0, end: 3 }]);
    await expectMatchesReference(stages, reference, [prompt, [44]]);
  });

  it('fp16 weights (Cast to fp32 in the graph)', async () => {
    const { stages, reference } = await loadChain(node(), testArchitecture(), 'fp16', [{ start: 0, end: 3 }]);
    await expectMatchesReference(stages, reference, [prompt, [44]]);
  });

  it.each([
    { type: 'linear', factor: 4 },
    { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 16 },
  ])('rope scaling $type', async (ropeScaling) => {
    const arch = testArchitecture({ ropeScaling, ropeTheta: 500000 });
    const { stages, reference } = await loadChain(node(), arch, 'fp32', [{ start: 0, end: 3 }]);
    await expectMatchesReference(stages, reference, [prompt, [44]]);
  });

  it('split stages compute bit-identically to one stage', async () => {
    const engine = node();
    const whole = await loadChain(engine, testArchitecture(), 'fp32', [{ start: 0, end: 3 }]);
    const split = await loadChain(engine, testArchitecture(), 'fp32', [
      { start: 0, end: 2 },
      { start: 2, end: 3 },
    ]);
    for (const chunk of [prompt, [44], [32]]) {
      const a = await runChain(whole.stages, asSessionId('a'), chunk);
      const b = await runChain(split.stages, asSessionId('b'), chunk);
      expect(b).toEqual(a);
    }
  });
});

describe('KV cache modes', () => {
  it("'append' (cache kept by the caller) computes what 'present' (cache through the graph) computes", async () => {
    const present = new OrtNodeEngine({ threads: 1, kvCache: 'present' });
    engines.push(present);
    const ranges = [
      { start: 0, end: 1 },
      { start: 1, end: 3 },
    ];
    const arch = testArchitecture({ contextLength: 256 });
    const a = await loadChain(node(), arch, 'fp32', ranges);
    const b = await loadChain(present, arch, 'fp32', ranges);
    // Prefill, chunked prefill, decode: the appended cache grows past its first allocation.
    for (const chunk of [prompt, [44, 45, 46], ...Array.from({ length: 70 }, (_, i) => [3 + i])]) {
      const x = await runChain(a.stages, asSessionId('s'), chunk);
      const y = await runChain(b.stages, asSessionId('s'), chunk);
      // Not bit for bit: 'append' weighs cached and new values apart and adds the two sums.
      const scale = Math.max(...y.map(Math.abs));
      let worst = 0;
      for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs((x[i] as number) - (y[i] as number)));
      expect(worst).toBeLessThanOrEqual(1e-6 * scale);
      expect(x.indexOf(Math.max(...x))).toBe(y.indexOf(Math.max(...y)));
    }
    expect(a.stages[1]?.sessionLength(asSessionId('s'))).toBe(prompt.length + 3 + 70);
  });
});

describe('buildStageGraph on onnxruntime-web (WASM)', () => {
  it('matches the reference forward, split in two', async () => {
    const engine = new OrtWebEngine({ backend: 'wasm' });
    engines.push(engine);
    const { stages, reference } = await loadChain(engine, testArchitecture(), 'fp16', [
      { start: 0, end: 2 },
      { start: 2, end: 3 },
    ]);
    await expectMatchesReference(stages, reference, [prompt, [44], [32]]);
  });
});

describe('buildStageGraph errors', () => {
  const manifestFor = async (arch: LlamaArchitecture): Promise<ModelManifest> => {
    const { pkg, cleanup } = await writeRandomPackage(arch, 'fp32', 3);
    cleanups.push(cleanup);
    return pkg.manifest;
  };

  it('rejects empty or out-of-range layer ranges', async () => {
    const m = await manifestFor(testArchitecture());
    for (const range of [
      { start: 1, end: 1 },
      { start: -1, end: 2 },
      { start: 0, end: 4 },
    ]) {
      expect(() => buildStageGraph(m, range)).toThrow(InvalidLayerRangeError);
    }
  });

  it('rejects an unknown rope scaling kind', async () => {
    const m = await manifestFor(testArchitecture());
    const bad = { ...m, architecture: { ...m.architecture, ropeScaling: { type: 'yarn', factor: 2 } } };
    expect(() => buildStageGraph(bad, { start: 0, end: 3 })).toThrow(UnsupportedRopeScalingError);
  });

  it('rejects a missing or mis-shaped weight', async () => {
    const m = await manifestFor(testArchitecture());
    const missing = { ...m, tensors: m.tensors.filter((t) => t.name !== 'layers.1.up.weight') };
    expect(() => buildStageGraph(missing, { start: 1, end: 2 })).toThrow(StageWeightError);
    const reshaped = { ...m, tensors: m.tensors.map((t) => (t.name === 'layers.0.q.weight' ? { ...t, shape: [16, 64] } : t)) };
    expect(() => buildStageGraph(reshaped, { start: 0, end: 1 })).toThrow(StageWeightError);
  });

  it('lists the weights it reads as byte ranges of unit files', async () => {
    const m = await manifestFor(testArchitecture());
    const g = buildStageGraph(m, { start: 1, end: 3 });
    expect(g.files).toEqual(['layer-001.bin', 'layer-002.bin', 'head.bin']);
    const q = g.weights.find((w) => w.tensor === 'layers.2.q.weight');
    const entry = m.tensors.find((t) => t.name === 'layers.2.q.weight');
    expect(q).toMatchObject({ unit: 'layer-002', offset: entry?.offset, bytes: entry?.bytes });
  });
});
