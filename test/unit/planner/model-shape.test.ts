import { describe, expect, it } from 'vitest';
import type { ModelManifest } from '../../../shared/model/manifest.ts';
import { layerCostBytes, modelShapeFromManifest, stageBytes } from '../../../shared/planner/model-shape.ts';
import { InvalidPlanInputError } from '../../../shared/planner/errors.ts';
import { waterFill, roundLargestRemainder } from '../../../shared/planner/apportion.ts';

function manifest(units: { name: string; bytes: number }[]): ModelManifest {
  return {
    format: 'ringmesh-model/1',
    name: 'tiny',
    architecture: {
      family: 'llama',
      hiddenSize: 64,
      intermediateSize: 172,
      numLayers: 2,
      numHeads: 8,
      numKvHeads: 4,
      headDim: 8,
      vocabSize: 512,
      contextLength: 256,
      ropeTheta: 10000,
      ropeScaling: null,
      rmsEps: 1e-5,
      tiedEmbeddings: true,
      attentionBias: false,
    },
    dtype: 'fp32',
    pieceSize: 4 << 20,
    tokenizer: { kind: 'llama2c', file: 'tokenizer.bin', bytes: 1, sha256: '', bos: 1, eos: [2], addBos: true, chatTemplate: null },
    units: units.map((u) => ({ name: u.name as ModelManifest['units'][number]['name'], file: `${u.name}.bin`, bytes: u.bytes, pieces: [] })),
    tensors: [],
  };
}

describe('modelShapeFromManifest', () => {
  const m = manifest([
    { name: 'embed', bytes: 131_072 },
    { name: 'layer-000', bytes: 90_000 },
    { name: 'layer-001', bytes: 90_112 },
    { name: 'head', bytes: 131_328 },
  ]);

  it('reads unit sizes and derives fp32 KV bytes per token per layer (2 × kvHeads × headDim × 4)', () => {
    expect(modelShapeFromManifest(m, 128)).toEqual({
      numLayers: 2,
      bytesPerLayer: 90_112,
      embedBytes: 131_072,
      headBytes: 131_328,
      kvBytesPerTokenPerLayer: 2 * 4 * 8 * 4,
      contextTokens: 128,
    });
  });

  it('defaults to the model context length, and rejects a longer one', () => {
    expect(modelShapeFromManifest(m).contextTokens).toBe(256);
    expect(() => modelShapeFromManifest(m, 257)).toThrow(InvalidPlanInputError);
  });

  it('rejects a manifest without embed or head', () => {
    expect(() =>
      modelShapeFromManifest(
        manifest([
          { name: 'layer-000', bytes: 1 },
          { name: 'head', bytes: 1 },
        ]),
      ),
    ).toThrow(InvalidPlanInputError);
  });

  it('costs a stage its layers with KV, plus embed at the start and head at the end', () => {
    const s = modelShapeFromManifest(m, 128);
    expect(layerCostBytes(s)).toBe(90_112 + 256 * 128);
    expect(stageBytes(s, 0, 1)).toBe(layerCostBytes(s) + 131_072);
    expect(stageBytes(s, 1, 2)).toBe(layerCostBytes(s) + 131_328);
    expect(stageBytes(s, 0, 2)).toBe(2 * layerCostBytes(s) + 131_072 + 131_328);
  });
});

describe('apportionment', () => {
  it.each([
    { w: [1, 2, 1], lo: [1, 1, 1], hi: [8, 8, 8], total: 8, q: [2, 4, 2] },
    { w: [1, 1, 1], lo: [1, 1, 1], hi: [1, 9, 9], total: 9, q: [1, 4, 4] }, // capped member's excess shared
    { w: [100, 1, 1], lo: [1, 1, 1], hi: [9, 9, 9], total: 9, q: [7, 1, 1] }, // floors hold
    { w: [1, 3], lo: [1, 1], hi: [2, 2], total: 4, q: [2, 2] }, // everyone at cap
  ])('water-fills $w into $q', ({ w, lo, hi, total, q }) => {
    const got = waterFill(w, lo, hi, total);
    got.forEach((x, i) => expect(x).toBeCloseTo(q[i] as number, 9));
  });

  it.each([
    { q: [2.5, 2.5, 3], total: 8, rank: [0, 1, 2], want: [3, 2, 3] },
    { q: [2.5, 2.5, 3], total: 8, rank: [1, 0, 2], want: [2, 3, 3] }, // tie goes to the lower rank
    { q: [1.2, 1.7, 3.1], total: 6, rank: [0, 1, 2], want: [1, 2, 3] },
  ])('rounds $q by largest remainder to $want', ({ q, total, rank, want }) => {
    expect(roundLargestRemainder(q, total, [1, 1, 1], [9, 9, 9], rank)).toEqual(want);
  });
});

describe('modelShapeFromManifest on quantized packages', () => {
  it('plans with the bytes a q4/q8 package really stores (codes + fp16 scales), not fp32', async () => {
    const { testArchitecture, writeRandomPackage } = await import('../../util/engine-fixtures.ts');
    const arch = testArchitecture({ hiddenSize: 64, intermediateSize: 128, headDim: 16, numKvHeads: 4 });
    const shapes: Record<string, number> = {};
    for (const dtype of ['fp32', 'q8', 'q4'] as const) {
      const { pkg, cleanup } = await writeRandomPackage(arch, dtype, 2);
      shapes[dtype] = modelShapeFromManifest(pkg.manifest).bytesPerLayer;
      cleanup();
    }
    // One layer: 4 × 64×64 attention + 3 × 64×128 MLP = 40 960 weights, 2 norms of 64 (fp32).
    const weights = 4 * 64 * 64 + 3 * 64 * 128;
    expect(shapes.fp32).toBe(weights * 4 + 2 * 64 * 4);
    // q8: 1 byte + 2/32 per weight; q4: 0.5 + 2/32 (a few 64-byte alignments on top).
    expect(shapes.q8).toBeGreaterThanOrEqual(weights * (1 + 2 / 32));
    expect(shapes.q8).toBeLessThan(weights * (1 + 2 / 32) + 2 * 64 * 4 + 16 * 64);
    expect(shapes.q4).toBeGreaterThanOrEqual(weights * (0.5 + 2 / 32));
    expect(shapes.q4).toBeLessThan(weights * (0.5 + 2 / 32) + 2 * 64 * 4 + 16 * 64);
    expect((shapes.q4 as number) / (shapes.fp32 as number)).toBeLessThan(0.15);
  });
});
