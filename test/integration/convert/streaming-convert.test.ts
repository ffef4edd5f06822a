import { readFileSync, statSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { convertHf } from '../../../node-peer/convert/convert-hf.ts';
import { convertLlama2c } from '../../../node-peer/convert/convert-llama2c.ts';
import { parseHfConfig } from '../../../node-peer/convert/hf-config.ts';
import { openHfWeights } from '../../../node-peer/convert/hf-weights.ts';
import { encodeWeights, unitTensorShapes } from '../../../node-peer/convert/llama-units.ts';
import { openModelPackage } from '../../../node-peer/model/open-model-package.ts';
import { layerUnitName, type WeightDType } from '../../../shared/model/manifest.ts';
import { hashPieces } from '../../../shared/model/pieces.ts';
import { tensorDTypeFor } from '../../../shared/model/tensor-dtypes.ts';
import { planUnitLayout } from '../../../shared/model/unit-layout.ts';
import { runConvertChild } from '../../util/convert-child.ts';
import { writeSyntheticHfCheckpoint, type SyntheticShape } from '../../util/hf-checkpoint-synthetic.ts';
import { MODELS_DIR } from '../../util/models.ts';
import { makeTempDir } from '../../util/temp-dir.ts';

const tmp = makeTempDir('streaming-convert');
afterAll(tmp.cleanup);

/**
 * Peak RSS bound of a conversion child, whatever the checkpoint's size: Node + the CLI (~150 MB)
 * plus a few 16 MiB slabs. The big checkpoint below is 600 MiB with a 256 MiB bf16 embedding
 * (512 MiB as fp32): reading any tensor whole, or building a unit in memory, passes the bound.
 */
const PEAK_RSS_BOUND = 400 * 1024 * 1024;

/** What the converter wrote before it streamed: whole tensors encoded, one unit in memory, hashed. */
async function wholeTensorUnits(dir: string, dtype: WeightDType, pieceSize: number): Promise<Map<string, { bytes: Uint8Array; pieces: string[] }>> {
  const { arch } = parseHfConfig(JSON.parse(readFileSync(`${dir}/config.json`, 'utf8')), 'config.json');
  const weights = await openHfWeights(dir);
  const source = weights.source(arch.tiedEmbeddings);
  const out = new Map<string, { bytes: Uint8Array; pieces: string[] }>();
  try {
    for (const unit of ['embed', ...Array.from({ length: arch.numLayers }, (_, i) => i), 'head'] as const) {
      const tensors = [];
      for (const [name, shape] of unitTensorShapes(arch, unit)) {
        const stored = tensorDTypeFor(name, shape, dtype);
        tensors.push({ name, dtype: stored, shape, data: encodeWeights(await source.get(name, shape), stored, shape) });
      }
      const layout = planUnitLayout(unit === 'embed' || unit === 'head' ? unit : layerUnitName(unit), tensors);
      const bytes = new Uint8Array(layout.bytes);
      tensors.forEach((t, i) => bytes.set(t.data, layout.tensors[i]?.offset));
      out.set(layout.unit, { bytes, pieces: await hashPieces(bytes, pieceSize) });
    }
  } finally {
    await weights.close();
  }
  return out;
}

describe('streaming conversion', () => {
  // Embedding 5000 × 1024 = 5.1 M values: with 64 Ki-value slabs every matrix takes several slabs, the last one partial.
  const small: SyntheticShape = { vocab: 5000, hidden: 1024, layers: 2, heads: 16, kvHeads: 4, intermediate: 1536, seed: 7 };

  it.each(['fp32', 'fp16', 'q8', 'q4'] as const)('%s: slab by slab gives the bytes and piece hashes of whole-tensor encoding', async (dtype) => {
    const src = tmp.path('small-hf');
    if (dtype === 'fp32') await writeSyntheticHfCheckpoint(src, small);
    const pieceSize = 100_000; // not a divisor of anything: pieces straddle tensors and slabs
    const expected = await wholeTensorUnits(src, dtype, pieceSize);
    await convertHf(src, tmp.path(`small-${dtype}`), { dtype, pieceSize, slabFloats: 1 << 16 });
    const pkg = await openModelPackage(tmp.path(`small-${dtype}`));
    expect(pkg.manifest.units.map((u) => u.name)).toEqual([...expected.keys()]);
    for (const u of pkg.manifest.units) {
      const want = expected.get(u.name);
      expect(u.pieces, u.name).toEqual(want?.pieces);
      expect(Buffer.compare(await pkg.readUnit(u.name), want?.bytes ?? new Uint8Array()), u.name).toBe(0);
    }
  });

  it('llama2.c: q/k permuted per slab of whole heads equals the whole-tensor permutation', async () => {
    const ckpt = `${MODELS_DIR}/stories260K.bin`;
    const tok = `${MODELS_DIR}/aidreams-tok512.bin`;
    for (const dtype of ['fp32', 'q8'] as const) {
      const a = await convertLlama2c(ckpt, tok, tmp.path(`l2c-whole-${dtype}`), { dtype, pieceSize: 4096 });
      const b = await convertLlama2c(ckpt, tok, tmp.path(`l2c-slabs-${dtype}`), { dtype, pieceSize: 4096, slabFloats: 64 });
      expect(b.modelId).toBe(a.modelId);
    }
  });

  it(`a 600 MiB bf16 checkpoint converts in a child whose peak RSS stays under ${PEAK_RSS_BOUND / 2 ** 20} MiB (q4, fp16)`, async () => {
    const big: SyntheticShape = { vocab: 65536, hidden: 2048, layers: 2, heads: 16, kvHeads: 4, intermediate: 2048, seed: 3 };
    const src = tmp.path('big-hf');
    const bytes = await writeSyntheticHfCheckpoint(src, big);
    expect(bytes).toBeGreaterThan(600 * 2 ** 20);
    expect(statSync(`${src}/model.safetensors`).size).toBe(bytes);
    for (const dtype of ['q4', 'fp16'] as const) {
      const r = await runConvertChild([src, tmp.path(`big-${dtype}`), '--dtype', dtype]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/model id [0-9a-f]{64}/);
      console.log(`streaming convert ${dtype}: peak RSS ${(r.maxRssBytes / 2 ** 20).toFixed(0)} MiB, ${(r.wallMs / 1000).toFixed(1)} s`);
      expect(r.maxRssBytes).toBeLessThan(PEAK_RSS_BOUND);
      const pkg = await openModelPackage(tmp.path(`big-${dtype}`));
      const embed = pkg.manifest.tensors.find((t) => t.name === 'embed.weight');
      expect(embed?.dtype).toBe(dtype === 'q4' ? 'q8' : 'fp16');
      // Read back and verified against the manifest's piece hashes.
      expect((await pkg.readUnit('head')).length).toBe(pkg.manifest.units.at(-1)?.bytes);
    }
  });
});
