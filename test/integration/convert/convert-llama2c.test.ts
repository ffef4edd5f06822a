import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { convertLlama2c } from '../../../node-peer/convert/convert-llama2c.ts';
import { openModelPackage } from '../../../node-peer/model/open-model-package.ts';
import { sha256Hex } from '../../../shared/crypto/sha256.ts';
import { canonicalJsonBytes } from '../../../shared/model/canonical-json.ts';
import { findTensor, tensorArray } from '../../../shared/model/tensor-view.ts';
import { createTokenizer } from '../../../shared/tokenizer/create-tokenizer.ts';
import { goldenCases, MODELS_DIR } from '../../util/models.ts';
import { readAllUnits } from '../../util/package-units.ts';
import { ReferenceLlama } from '../../util/reference-llama.ts';
import { makeTempDir } from '../../util/temp-dir.ts';

const tmp = makeTempDir('convert-llama2c');
afterAll(tmp.cleanup);
const model = (f: string): string => `${MODELS_DIR}/${f}`;

describe('convert llama2.c checkpoints', () => {
  for (const [i, c] of goldenCases().entries()) {
    it(`${c.model} + ${c.tokenizer}: the package computes run.c's greedy ids for ${JSON.stringify(c.prompt)}`, async () => {
      const out = tmp.path(`golden-${i}`);
      const { modelId } = await convertLlama2c(model(c.model), model(c.tokenizer), out, { pieceSize: 64 * 1024 });
      const pkg = await openModelPackage(out);
      expect(pkg.modelId).toBe(modelId);
      expect(pkg.modelId).toBe(await sha256Hex(canonicalJsonBytes(JSON.parse(readFileSync(`${out}/manifest.json`, 'utf8')))));
      const tok = createTokenizer(pkg.manifest.tokenizer, await pkg.readTokenizer(), pkg.manifest.architecture.vocabSize);
      expect(tok.encode(c.prompt)).toEqual(c.prompt_ids);
      // An independent fp64 forward pass over the package reproduces llama2.c exactly.
      const ref = new ReferenceLlama(pkg.manifest, await readAllUnits(pkg));
      expect(ref.greedy(c.prompt_ids, c.steps, pkg.manifest.tokenizer.eos)).toEqual(c.generated_ids);
    });
  }

  it('records the llama2.c shape, conventions and a multi-piece layout', async () => {
    const out = tmp.path('stories');
    const { manifest } = await convertLlama2c(model('stories260K.bin'), model('aidreams-tok512.bin'), out, { pieceSize: 64 * 1024 });
    expect(manifest.architecture).toMatchObject({
      hiddenSize: 64,
      intermediateSize: 172,
      numLayers: 5,
      numHeads: 8,
      numKvHeads: 4,
      headDim: 8,
      vocabSize: 512,
      contextLength: 512,
      ropeTheta: 10000,
      rmsEps: 1e-5,
      tiedEmbeddings: true,
      attentionBias: false,
    });
    expect(manifest.tokenizer).toMatchObject({ kind: 'llama2c', bos: 1, eos: [1], addBos: true });
    expect(manifest.units.map((u) => u.name)).toEqual(['embed', 'layer-000', 'layer-001', 'layer-002', 'layer-003', 'layer-004', 'head']);
    expect(manifest.units.find((u) => u.name === 'layer-000')?.pieces.length).toBe(3);
    const pkg = await openModelPackage(out);
    const embed = await pkg.readUnit('embed');
    const head = await pkg.readUnit('head');
    // Tied classifier: the head carries its own copy of the embedding.
    expect(tensorArray(manifest, 'lm_head.weight', head)).toEqual(tensorArray(manifest, 'embed.weight', embed));
    expect(findTensor(manifest, 'layers.4.k.weight').shape).toEqual([32, 64]);
  });

  it('fp16 output halves the weights and stays within fp16 rounding of fp32', async () => {
    const a = await convertLlama2c(model('aidreams260K.bin'), model('aidreams-tok512.bin'), tmp.path('a32'));
    const b = await convertLlama2c(model('aidreams260K.bin'), model('aidreams-tok512.bin'), tmp.path('a16'), { dtype: 'fp16' });
    const p32 = await openModelPackage(tmp.path('a32'));
    const p16 = await openModelPackage(tmp.path('a16'));
    expect(b.manifest.units[1]?.bytes).toBeLessThan((a.manifest.units[1]?.bytes ?? 0) / 2 + 1024);
    const w32 = tensorArray(a.manifest, 'layers.0.q.weight', await p32.readUnit('layer-000')) as Float32Array;
    const w16 = tensorArray(b.manifest, 'layers.0.q.weight', await p16.readUnit('layer-000'));
    expect(w16).toBeInstanceOf(Uint16Array);
    const { halfToFloat32 } = await import('../../../shared/util/half-float.ts');
    const back = halfToFloat32(w16 as Uint16Array);
    back.forEach((v, i) => expect(Math.abs(v - (w32[i] as number))).toBeLessThanOrEqual(Math.abs(w32[i] as number) * 2 ** -11 + 2 ** -24));
    // Greedy ids on fp16 weights (fp64 math): tolerance stated in docs/model-package.md.
    const c = goldenCases()[0]!;
    const ref = new ReferenceLlama(p16.manifest, await readAllUnits(p16));
    const ids = ref.greedy(c.prompt_ids, c.steps, [1]);
    const same = ids.findIndex((id, i) => id !== c.generated_ids[i]);
    expect(same === -1 ? ids.length : same).toBeGreaterThanOrEqual(32);
  });
});
