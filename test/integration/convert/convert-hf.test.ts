import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertHf } from '../../../node-peer/convert/convert-hf.ts';
import { convertLlama2c } from '../../../node-peer/convert/convert-llama2c.ts';
import { openModelPackage } from '../../../node-peer/model/open-model-package.ts';
import { createTokenizer } from '../../../shared/tokenizer/create-tokenizer.ts';
import { TEST_CHAT_TEMPLATE, writeHfCheckpoint, type HfCheckpointOptions } from '../../util/hf-checkpoint.ts';
import { goldenCases, MODELS_DIR } from '../../util/models.ts';
import { readAllUnits } from '../../util/package-units.ts';
import { ReferenceLlama } from '../../util/reference-llama.ts';
import { makeTempDir } from '../../util/temp-dir.ts';

const tmp = makeTempDir('convert-hf');
afterAll(tmp.cleanup);
const model = (f: string): string => `${MODELS_DIR}/${f}`;
const TOK = model('aidreams-tok512.bin');

/** Max logit gap (teacher forcing on run.c's ids) we accept for half-precision inputs; measured 0.0014 / 0.83. */
const GAP_TOLERANCE = { F16: 0.01, BF16: 1.0 } as const;

async function hfPackage(name: string, checkpoint: string, o: HfCheckpointOptions): Promise<string> {
  await writeHfCheckpoint(tmp.path(`${name}-hf`), model(checkpoint), TOK, o);
  await convertHf(tmp.path(`${name}-hf`), tmp.path(name), { pieceSize: 64 * 1024 });
  return tmp.path(name);
}

function sameFiles(a: string, b: string, files: string[]): void {
  for (const f of files) expect(Buffer.compare(readFileSync(`${a}/${f}`), readFileSync(`${b}/${f}`)), f).toBe(0);
}

describe('convert Hugging Face checkpoints', () => {
  const units = (m: string): string[] => ['embed.bin', ...Array.from({ length: m === 'stories260K.bin' ? 5 : 4 }, (_, i) => `layer-00${i}.bin`), 'head.bin'];
  beforeAll(async () => {
    for (const m of ['aidreams260K.bin', 'stories260K.bin']) await convertLlama2c(model(m), TOK, tmp.path(`ref-${m}`), { pieceSize: 64 * 1024 });
  });

  for (const m of ['aidreams260K.bin', 'stories260K.bin']) {
    it(`fp32 ${m}: model.safetensors, sharded and untied variants give byte-identical tensors`, async () => {
      const ref = tmp.path(`ref-${m}`);
      sameFiles(await hfPackage(`${m}-single`, m, { dtype: 'F32' }), ref, units(m));
      sameFiles(await hfPackage(`${m}-sharded`, m, { dtype: 'F32', shards: 3 }), ref, units(m));
      const untied = await hfPackage(`${m}-untied`, m, { dtype: 'F32', untied: true });
      sameFiles(untied, ref, units(m));
      expect((await openModelPackage(untied)).manifest.architecture.tiedEmbeddings).toBe(false);
    });
  }

  for (const [i, c] of goldenCases().entries()) {
    it(`case ${i} (${c.model}): fp32 gives run.c's greedy ids; fp16/bf16 stay within the stated logit gap`, async () => {
      const check = async (dtype: HfCheckpointOptions['dtype']): Promise<void> => {
        const pkg = await openModelPackage(await hfPackage(`case${i}-${dtype}`, c.model, { dtype }));
        const ref = new ReferenceLlama(pkg.manifest, await readAllUnits(pkg));
        if (dtype === 'F32') {
          expect(ref.greedy(c.prompt_ids, c.steps, pkg.manifest.tokenizer.eos)).toEqual(c.generated_ids);
        } else {
          expect(Math.max(...ref.logitGaps(c.prompt_ids, c.generated_ids))).toBeLessThanOrEqual(GAP_TOLERANCE[dtype]);
        }
      };
      for (const dtype of ['F32', 'F16', 'BF16'] as const) await check(dtype);
    });
  }

  it('carries tokenizer.json, BOS/EOS, add_bos and the chat template; encodes like the llama2.c tokenizer', async () => {
    const pkg = await openModelPackage(await hfPackage('tok', 'aidreams260K.bin', { dtype: 'F32' }));
    expect(pkg.manifest.tokenizer).toMatchObject({ kind: 'hf-json', file: 'tokenizer.json', bos: 1, addBos: true, chatTemplate: TEST_CHAT_TEMPLATE });
    expect([...pkg.manifest.tokenizer.eos].sort()).toEqual([1, 2]);
    const tok = createTokenizer(pkg.manifest.tokenizer, await pkg.readTokenizer());
    for (const c of goldenCases()) expect(tok.encode(c.prompt)).toEqual(c.prompt_ids);
    const l2c = createTokenizer({ ...pkg.manifest.tokenizer, kind: 'llama2c', file: 'tok.bin' }, new Uint8Array(readFileSync(TOK)));
    for (const text of ['Hello world, naïve café ü €  two  spaces', 'a\nb\tc', 'The  machine dreams']) {
      expect(tok.encode(text)).toEqual(l2c.encode(text));
    }
    const d = tok.createDecoder([1]);
    const ids = tok.encode('The machine, naïve', { bos: false });
    expect(ids.map((id) => d.push(id)).join('') + d.end()).toBe('The machine, naïve');
  });
});
