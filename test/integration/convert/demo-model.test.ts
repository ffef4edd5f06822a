import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { writeDemoModel } from '../../../node-peer/convert/demo-model.ts';
import { InvalidModelShapeError } from '../../../node-peer/convert/errors.ts';
import { openModelPackage } from '../../../node-peer/model/open-model-package.ts';
import { tensorArray } from '../../../shared/model/tensor-view.ts';
import { createTokenizer } from '../../../shared/tokenizer/create-tokenizer.ts';
import { readAllUnits } from '../../util/package-units.ts';
import { ReferenceLlama } from '../../util/reference-llama.ts';
import { makeTempDir } from '../../util/temp-dir.ts';

const tmp = makeTempDir('demo-model');
afterAll(tmp.cleanup);
const shape = { layers: 3, hidden: 48, heads: 6, kvHeads: 2, vocab: 400, seed: 7 };

describe('demo model', () => {
  it('is reproducible: same seed → same model id and bytes; another seed → another model', async () => {
    const a = await writeDemoModel(tmp.path('a'), shape, { pieceSize: 8192 });
    const b = await writeDemoModel(tmp.path('b'), shape, { pieceSize: 8192 });
    const c = await writeDemoModel(tmp.path('c'), { ...shape, seed: 8 }, { pieceSize: 8192 });
    expect(b.modelId).toBe(a.modelId);
    expect(c.manifest.units[1]?.pieces).not.toEqual(a.manifest.units[1]?.pieces);
    await expect(writeDemoModel(tmp.path('bad'), { ...shape, heads: 5 })).rejects.toBeInstanceOf(InvalidModelShapeError);
    await expect(writeDemoModel(tmp.path('bad'), { ...shape, vocab: 100 })).rejects.toBeInstanceOf(InvalidModelShapeError);
    expect(a.manifest.architecture).toMatchObject({
      numLayers: 3,
      hiddenSize: 48,
      numHeads: 6,
      numKvHeads: 2,
      headDim: 8,
      vocabSize: 400,
      intermediateSize: 128,
    });
  });

  it('has sane weights, a working byte-level tokenizer and finite, non-degenerate logits', async () => {
    const pkg = await openModelPackage(tmp.path('a'));
    const units = await readAllUnits(pkg);
    const m = pkg.manifest;
    const norm = tensorArray(m, 'layers.0.attn_norm.weight', units.get('layer-000') as Uint8Array);
    expect([...norm].every((x) => x === 1)).toBe(true);
    expect(tensorArray(m, 'lm_head.weight', units.get('head') as Uint8Array)).toEqual(tensorArray(m, 'embed.weight', units.get('embed') as Uint8Array));
    const tok = createTokenizer(m.tokenizer, await pkg.readTokenizer(), m.architecture.vocabSize);
    const ids = tok.encode('hello, wörld');
    expect(ids[0]).toBe(1);
    expect(tok.decode(ids)).toBe('hello, wörld');
    const ref = new ReferenceLlama(m, units);
    const logits = ids.map((id) => ref.step(id)).at(-1) as Float64Array;
    expect(logits.every((x) => Number.isFinite(x))).toBe(true);
    expect(Math.max(...logits) - Math.min(...logits)).toBeGreaterThan(1e-3);
  });

  it('node-peer demo-model writes an fp16 package', async () => {
    const out = tmp.path('cli');
    const { stdout } = await promisify(execFile)(process.execPath, [
      join(import.meta.dirname, '../../../bin/node-peer.js'),
      'demo-model',
      out,
      '--layers',
      '2',
      '--hidden',
      '32',
      '--heads',
      '4',
      '--kv-heads',
      '2',
      '--vocab',
      '300',
      '--seed',
      '3',
      '--dtype',
      'fp16',
      '--piece-size',
      '4096',
    ]);
    expect(stdout).toMatch(/model id [0-9a-f]{64}/);
    const pkg = await openModelPackage(out);
    expect(pkg.manifest.dtype).toBe('fp16');
    expect(pkg.manifest.units.find((u) => u.name === 'embed')?.pieces.length).toBe(5);
    expect(stdout).toContain(pkg.modelId);
  });
});
