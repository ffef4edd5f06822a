import { afterAll, describe, expect, it } from 'vitest';
import { OrtNodeEngine } from '../../../node-peer/engine/ort-node-engine.ts';
import type { Engine, Stage } from '../../../shared/engine/engine.ts';
import type { LayerRange } from '../../../shared/model/layer-range.ts';
import { buildStageGraph } from '../../../shared/graph/build-stage-graph.ts';
import { runChain } from '../../../shared/generate/stage-chain.ts';
import { asSessionId } from '../../../shared/ids.ts';
import type { LlamaArchitecture, WeightDType } from '../../../shared/model/manifest.ts';
import { OrtWebEngine } from '../../../shared/engine/ort-web-engine.ts';
import { maxAbsDiff, readRangeUnits, testArchitecture, writeRandomPackage } from '../../util/engine-fixtures.ts';
import { ReferenceForward } from '../../util/reference-forward.ts';

// q8/q4 stage graphs (MatMulNBits, q8 embedding lookup) against the TypeScript reference forward
// over the dequantized weights, and split against unsplit on Node CPU and WASM.
const engines: Engine[] = [];
const cleanups: (() => void)[] = [];
afterAll(async () => {
  for (const e of engines) await e.dispose();
  cleanups.forEach((c) => c());
});

function engine(kind: 'node' | 'wasm'): Engine {
  const e = kind === 'node' ? new OrtNodeEngine({ threads: 1 }) : new OrtWebEngine({ backend: 'wasm' });
  engines.push(e);
  return e;
}

/** Nodes of type `op` in an ONNX model: NodeProto.op_type is field 4 (tag 0x22, the length, the name). */
const count = (model: Uint8Array, op: string): number => new TextDecoder('latin1').decode(model).split(`\x22${String.fromCharCode(op.length)}${op}`).length - 1;

// hidden 64 (two blocks), intermediate 80 (a partial last block), GQA 4/2, untied head.
const arch: LlamaArchitecture = testArchitecture({ hiddenSize: 64, intermediateSize: 80, headDim: 16 });
const prompt = [1, 72, 101, 108, 108];

async function loadChain(e: Engine, dtype: WeightDType, ranges: LayerRange[]): Promise<{ stages: Stage[]; reference: ReferenceForward }> {
  const { pkg, cleanup } = await writeRandomPackage(arch, dtype, 11);
  cleanups.push(cleanup);
  const stages: Stage[] = [];
  for (const range of ranges) stages.push(await e.loadStage({ manifest: pkg.manifest, range, units: await readRangeUnits(pkg, range) }));
  return { stages, reference: new ReferenceForward(pkg.manifest, await readRangeUnits(pkg, { start: 0, end: arch.numLayers })) };
}

describe.each(['q8', 'q4'] as const)('%s stages', (dtype) => {
  it('store every linear weight quantized and read them with MatMulNBits', async () => {
    const { pkg, cleanup } = await writeRandomPackage(arch, dtype, 11);
    cleanups.push(cleanup);
    const m = pkg.manifest;
    expect(m.format).toBe('ringmesh-model/2');
    expect(m.tensors.find((t) => t.name === 'layers.0.gate.weight')?.dtype).toBe(dtype);
    expect(m.tensors.find((t) => t.name === 'layers.0.attn_norm.weight')?.dtype).toBe('fp32');
    expect(m.tensors.find((t) => t.name === 'embed.weight')?.dtype).toBe('q8');
    expect(m.tensors.find((t) => t.name === 'lm_head.weight')?.dtype).toBe('q8');
    const graph = buildStageGraph(m, { start: 0, end: arch.numLayers });
    const text = new TextDecoder('latin1').decode(graph.model);
    expect(text).toContain('MatMulNBits');
    expect(text).not.toContain('Gemm');
  });

  it('read q/k/v with one MatMulNBits and gate/up with another, unless their dtypes differ', async () => {
    const { pkg, cleanup } = await writeRandomPackage(arch, dtype, 11);
    cleanups.push(cleanup);
    const m = pkg.manifest;
    const all = { start: 0, end: arch.numLayers };
    // per layer: q/k/v, o, gate/up, down; then the classifier
    expect(count(buildStageGraph(m, all).model, 'MatMulNBits')).toBe(4 * arch.numLayers + 1);
    const other = dtype === 'q8' ? 'q4' : 'q8';
    const mixed = { ...m, tensors: m.tensors.map((t) => (t.name === 'layers.0.v.weight' ? { ...t, dtype: other } : t)) } as typeof m;
    expect(count(buildStageGraph(mixed, all).model, 'MatMulNBits')).toBe(4 * arch.numLayers + 1 + 2);
  });

  it('slice a linear over quantChunkBytes by output rows, never joined, and compute the same on WASM', async () => {
    const { pkg, cleanup } = await writeRandomPackage(arch, dtype, 11);
    cleanups.push(cleanup);
    const m = pkg.manifest;
    const chunk = 16 * 64 * 4; // 16 rows of a 64-wide input, 3 of the 80-wide down projection
    const slices = (out: number, inDim: number): number => Math.ceil(out / Math.floor(chunk / (inDim * 4)));
    const a = m.architecture;
    const q = a.numHeads * a.headDim;
    const kv = a.numKvHeads * a.headDim;
    const perLayer =
      slices(q, a.hiddenSize) +
      2 * slices(kv, a.hiddenSize) +
      slices(a.hiddenSize, q) +
      2 * slices(a.intermediateSize, a.hiddenSize) +
      slices(a.hiddenSize, a.intermediateSize);
    const all = { start: 0, end: arch.numLayers };
    expect(perLayer).toBeGreaterThan(7); // some linears are sliced
    expect(count(buildStageGraph(m, all, { quantChunkBytes: chunk }).model, 'MatMulNBits')).toBe(perLayer * arch.numLayers + slices(a.vocabSize, a.hiddenSize));
    // Infinity: every linear whole and apart (7 a layer), as a runtime that widens them needs.
    expect(count(buildStageGraph(m, all, { quantChunkBytes: Infinity }).model, 'MatMulNBits')).toBe(7 * arch.numLayers + 1);

    const sliced = new OrtWebEngine({ backend: 'wasm', quantChunkBytes: chunk });
    const whole = new OrtWebEngine({ backend: 'wasm', quantChunkBytes: Infinity });
    engines.push(sliced, whole);
    const range = { start: 0, end: arch.numLayers };
    const [a1, b1] = [
      await sliced.loadStage({ manifest: m, range, units: await readRangeUnits(pkg, range) }),
      await whole.loadStage({ manifest: m, range, units: await readRangeUnits(pkg, range) }),
    ];
    const reference = new ReferenceForward(m, await readRangeUnits(pkg, range));
    for (const ids of [prompt, [44], [32, 33]]) {
      const got = await runChain([a1], asSessionId('sliced'), ids);
      expect(got).toEqual(await runChain([b1], asSessionId('whole'), ids));
      let expected: number[] = [];
      for (const t of ids) expected = reference.step(t);
      expect(maxAbsDiff(got, expected) / Math.max(1, ...expected.map(Math.abs))).toBeLessThan(1e-4);
    }
  });

  // accuracy_level 0: fp32 math on the dequantized weights, so only summation order differs.
  // accuracy_level 4 (the default): activations rounded to int8 per block of 32 as well, a stated
  // error of at most 10% of the largest logit on these deliberately large random weights (std 0.3;
  // measured 6.4%). On trained weights the cost is the KL in quantized-accuracy.test.ts.
  it.each([
    [0, 1e-4],
    [4, 0.1],
  ] as const)('Node CPU, accuracy level %i, matches the reference forward over the dequantized weights within %f', async (level, bound) => {
    const e = new OrtNodeEngine({ threads: 1, quantAccuracy: level });
    engines.push(e);
    const { stages, reference } = await loadChain(e, dtype, [{ start: 0, end: arch.numLayers }]);
    const session = asSessionId('ref');
    for (const chunk of [prompt, [44, 45], [32], [119]]) {
      const logits = await runChain(stages, session, chunk);
      let expected: number[] = [];
      for (const t of chunk) expected = reference.step(t);
      const scale = Math.max(1, ...expected.map(Math.abs));
      expect(maxAbsDiff(logits, expected) / scale).toBeLessThan(bound);
    }
  });

  it.each(['node', 'wasm'] as const)('split into three stages = unsplit, bit for bit, on %s', async (kind) => {
    const e = engine(kind);
    const whole = await loadChain(e, dtype, [{ start: 0, end: 3 }]);
    const split = await loadChain(e, dtype, [
      { start: 0, end: 1 },
      { start: 1, end: 2 },
      { start: 2, end: 3 },
    ]);
    for (const chunk of [prompt, [44], [32, 33, 34], [7]]) {
      const a = await runChain(whole.stages, asSessionId('a'), chunk);
      const b = await runChain(split.stages, asSessionId('b'), chunk);
      expect(b).toEqual(a);
    }
  });
});
