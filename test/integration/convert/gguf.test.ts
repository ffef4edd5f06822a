import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { gguf } from '@huggingface/gguf';
import { convertModel } from '../../../node-peer/convert/convert-model.ts';
import { llama3Factors } from '../../../node-peer/convert/gguf-architecture.ts';
import { CheckpointFormatError, UnsupportedArchitectureError, UnsupportedTensorTypeError } from '../../../node-peer/convert/errors.ts';
import { unitTensorShapes } from '../../../node-peer/convert/llama-units.ts';
import { OrtNodeEngine } from '../../../node-peer/engine/ort-node-engine.ts';
import { openModelPackage, type ModelPackage } from '../../../node-peer/model/open-model-package.ts';
import { fromHalfBits } from '../../../shared/util/half-float.ts';
import { runChain } from '../../../shared/generate/stage-chain.ts';
import { asSessionId } from '../../../shared/ids.ts';
import type { LlamaArchitecture, WeightDType } from '../../../shared/model/manifest.ts';
import { fillNormal, Xoshiro128 } from '../../../shared/random/xoshiro128.ts';
import { byteLevelVocab } from '../../../shared/tokenizer/byte-level-vocab.ts';
import { createTokenizer } from '../../../shared/tokenizer/create-tokenizer.ts';
import { parseLlama2cVocab, serializeLlama2cVocab } from '../../../shared/tokenizer/llama2c-vocab.ts';
import { runConvertChild } from '../../util/convert-child.ts';
import { readRangeUnits, testArchitecture } from '../../util/engine-fixtures.ts';
import { quantizeQ4_0, writeLlamaGguf, type GgufMeta, type LlamaGgufTypes } from '../../util/gguf-writer.ts';
import { writeHfCheckpointFromWeights } from '../../util/hf-checkpoint.ts';
import { llama2cVocabToHfJson } from '../../util/hf-tokenizer-json.ts';
import { makeTempDir } from '../../util/temp-dir.ts';

const tmp = makeTempDir('gguf');
const engine = new OrtNodeEngine({ threads: 1 });
afterAll(async () => {
  await engine.dispose();
  tmp.cleanup();
});

// hidden 64 and intermediate 96: whole 32-value blocks, as GGUF requires; GQA 4/2.
const untied = testArchitecture({ hiddenSize: 64, intermediateSize: 96, headDim: 16, numLayers: 2, vocabSize: 288, contextLength: 128 });
const tied: LlamaArchitecture = { ...untied, tiedEmbeddings: true };
const PROMPT = [1, 72, 101, 108, 108, 111];

function randomWeights(arch: LlamaArchitecture, seed: number): Map<string, Float32Array> {
  const rng = new Xoshiro128(seed);
  const w = new Map<string, Float32Array>();
  for (const unit of ['embed', 0, 1, 'head'] as const) {
    for (const [name, shape] of unitTensorShapes(arch, unit)) {
      const out = fillNormal(rng, new Float32Array(shape.reduce((p, d) => p * d, 1)), name.endsWith('norm.weight') ? 0.2 : 0.3);
      if (name.endsWith('norm.weight')) for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) + 1;
      w.set(name, out);
    }
  }
  if (arch.tiedEmbeddings) w.set('lm_head.weight', w.get('embed.weight') as Float32Array);
  return w;
}

/** The byte-level demo vocab as llama.cpp writes a SentencePiece vocab, and as a Hugging Face tokenizer.json. */
function vocabs(size: number): { gguf: { tokens: string[]; scores: number[]; types: number[] }; hfJson: unknown } {
  const v = byteLevelVocab(size);
  const dec = new TextDecoder();
  const tokens = v.pieces.map((p, i) => (i < 3 ? (['<unk>', '<s>', '</s>'][i] as string) : dec.decode(p).replaceAll(' ', '▁')));
  const types = tokens.map((t, i) => (i === 0 ? 2 : i < 3 ? 3 : /^<0x[0-9A-F]{2}>$/.test(t) ? 6 : 1));
  const hfJson = llama2cVocabToHfJson(parseLlama2cVocab(serializeLlama2cVocab(v.pieces, v.scores), 'vocab', size));
  return { gguf: { tokens, scores: v.scores, types }, hfJson };
}
const vocab = vocabs(untied.vocabSize);

/** The values a Q4_0 tensor stands for (what a q4 GGUF's embedding is, exactly). */
function q4Values(x: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  const block = new Uint8Array(18);
  for (let b = 0; b < x.length / 32; b++) {
    quantizeQ4_0(x.subarray(b * 32, b * 32 + 32), block, 0);
    const d = fromHalfBits((block[0] as number) | ((block[1] as number) << 8));
    for (let j = 0; j < 16; j++) {
      out[b * 32 + j] = d * (((block[2 + j] as number) & 15) - 8);
      out[b * 32 + j + 16] = d * (((block[2 + j] as number) >> 4) - 8);
    }
  }
  return out;
}

async function logits(pkg: ModelPackage): Promise<number[]> {
  const range = { start: 0, end: pkg.manifest.architecture.numLayers };
  const stage = await engine.loadStage({ manifest: pkg.manifest, range, units: await readRangeUnits(pkg, range) });
  const out = await runChain([stage], asSessionId(`s-${Math.random()}`), PROMPT);
  return [...out, ...(await runChain([stage], asSessionId(`t-${Math.random()}`), [44]))];
}

async function sameAsSafetensors(
  label: string,
  arch: LlamaArchitecture,
  weights: Map<string, Float32Array>,
  types: LlamaGgufTypes,
  hfWeights: Map<string, Float32Array>,
  hfDtype: 'F32' | 'F16',
  dtype: WeightDType,
): Promise<ModelPackage> {
  await writeLlamaGguf(tmp.path(`${label}.gguf`), arch, weights, vocab.gguf, types);
  await writeHfCheckpointFromWeights(tmp.path(`${label}-hf`), arch, hfWeights, vocab.hfJson, hfDtype);
  await convertModel(tmp.path(`${label}.gguf`), tmp.path(`${label}-from-gguf`), { dtype, name: label, pieceSize: 4096 });
  await convertModel(tmp.path(`${label}-hf`), tmp.path(`${label}-from-hf`), { dtype, name: label, pieceSize: 4096 });
  const a = await openModelPackage(tmp.path(`${label}-from-gguf`));
  const b = await openModelPackage(tmp.path(`${label}-from-hf`));
  expect(a.manifest.architecture).toEqual(b.manifest.architecture);
  expect(a.manifest.tensors).toEqual(b.manifest.tensors);
  expect(a.manifest.units).toEqual(b.manifest.units); // same bytes: same piece hashes
  expect(await logits(a)).toEqual(await logits(b));
  return a;
}

describe('convert GGUF (llama)', () => {
  it('the test writer gives a GGUF that @huggingface/gguf reads: metadata, tensor infos, reversed dims', async () => {
    await writeLlamaGguf(tmp.path('read.gguf'), untied, randomWeights(untied, 1), vocab.gguf, { linear: 'Q8_0', embed: 'Q4_0' });
    const { metadata, tensorInfos } = await gguf(tmp.path('read.gguf'), { allowLocalFile: true });
    const m = metadata as Record<string, unknown>;
    expect(m.version).toBe(3);
    expect(m['general.architecture']).toBe('llama');
    expect([m['llama.block_count'], m['llama.embedding_length'], m['llama.feed_forward_length'], m['llama.attention.head_count_kv']]).toEqual([2, 64, 96, 2]);
    expect((m['tokenizer.ggml.tokens'] as string[]).length).toBe(288);
    const info = (n: string): { dtype: number; shape: bigint[] } | undefined => tensorInfos.find((t) => t.name === n);
    expect(info('token_embd.weight')).toMatchObject({ dtype: 2, shape: [64n, 288n] });
    expect(info('blk.1.ffn_down.weight')).toMatchObject({ dtype: 8, shape: [96n, 64n] });
    expect(info('blk.0.attn_k.weight')).toMatchObject({ dtype: 8, shape: [64n, 32n] });
    expect(info('output_norm.weight')).toMatchObject({ dtype: 0, shape: [64n] });
    expect(tensorInfos.length).toBe(1 + 2 * 9 + 2);
  });

  it('Q8_0 → --dtype q8: blocks mapped as they are; same units and logits as F32 safetensors → q8', async () => {
    const w = randomWeights(untied, 2);
    const pkg = await sameAsSafetensors('q8', untied, w, { linear: 'Q8_0' }, w, 'F32', 'q8');
    expect(pkg.manifest.tensors.find((t) => t.name === 'layers.0.q.weight')?.dtype).toBe('q8');
  });

  it('Q4_0 (embedding too) → --dtype q4: layers mapped, the tied embedding re-encoded at q8; same as safetensors → q4', async () => {
    const w = randomWeights(tied, 3);
    const hf = new Map(w);
    hf.set('embed.weight', q4Values(w.get('embed.weight') as Float32Array)); // what the GGUF's Q4_0 embedding stands for
    hf.set('lm_head.weight', hf.get('embed.weight') as Float32Array);
    const pkg = await sameAsSafetensors('q4', tied, w, { linear: 'Q4_0' }, hf, 'F32', 'q4');
    expect(pkg.manifest.architecture.tiedEmbeddings).toBe(true);
    expect(pkg.manifest.tensors.find((t) => t.name === 'embed.weight')?.dtype).toBe('q8');
    expect(pkg.manifest.tensors.find((t) => t.name === 'layers.1.down.weight')?.dtype).toBe('q4');
  });

  it('F16 → --dtype fp16 equals safetensors F16 → fp16; the vocab becomes a tokenizer.json that encodes alike', async () => {
    const w = randomWeights(untied, 4);
    const pkg = await sameAsSafetensors('f16', untied, w, { linear: 'F16' }, w, 'F16', 'fp16');
    const hfPkg = await openModelPackage(tmp.path('f16-from-hf'));
    expect(pkg.manifest.tokenizer).toMatchObject({ kind: 'hf-json', bos: 1, eos: [2], addBos: true });
    const a = createTokenizer(pkg.manifest.tokenizer, await pkg.readTokenizer());
    const b = createTokenizer(hfPkg.manifest.tokenizer, await hfPkg.readTokenizer());
    for (const text of ['The machine dreams', 'Hello world, naïve café ü €  two  spaces', 'a\nb\tc']) {
      expect(a.encode(text)).toEqual(b.encode(text));
      expect(a.decode(a.encode(text, { bos: false }))).toBe(text);
    }
  });

  it("rope_freqs.weight (llama.cpp's Llama 3 scaling) becomes llama3 rope scaling; factors of another scaling are refused", async () => {
    const w = randomWeights(untied, 6);
    const scaling = { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 };
    const freqs = Float32Array.from(llama3Factors(scaling, untied.headDim, untied.ropeTheta));
    expect(new Set(freqs).size).toBeGreaterThan(2); // 1, 32 and a smoothed one: every branch
    const rope = (data: Float32Array) => [{ name: 'rope_freqs.weight', type: 'F32' as const, shape: [data.length], data }];
    await writeLlamaGguf(tmp.path('l3.gguf'), untied, w, vocab.gguf, { linear: 'Q8_0' }, [], rope(freqs));
    const { manifest } = await convertModel(tmp.path('l3.gguf'), tmp.path('l3-out'), { dtype: 'q8' });
    expect(manifest.architecture.ropeScaling).toEqual(scaling);
    await writeLlamaGguf(tmp.path('l3-bad.gguf'), untied, w, vocab.gguf, { linear: 'Q8_0' }, [], rope(freqs.map((x) => x * 1.5)));
    await expect(convertModel(tmp.path('l3-bad.gguf'), tmp.path('l3-bad-out'), {})).rejects.toThrow(/rope_freqs\.weight does not match Llama 3 scaling/);
  });

  it('errors: an unsupported tensor type, a truncated file, a non-llama architecture', async () => {
    const w = randomWeights(untied, 5);
    await writeLlamaGguf(tmp.path('k.gguf'), untied, w, vocab.gguf, { linear: 'Q8_0', output: 'Q6_K' });
    const err = await convertModel(tmp.path('k.gguf'), tmp.path('k-out'), { dtype: 'q8' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedTensorTypeError);
    expect((err as Error).message).toMatch(/output\.weight has GGML type Q6_K; supported: F32, F16, Q8_0, Q4_0/);

    await writeLlamaGguf(tmp.path('ok.gguf'), untied, w, vocab.gguf, { linear: 'Q8_0' });
    const bytes = readFileSync(tmp.path('ok.gguf'));
    writeFileSync(tmp.path('cut-data.gguf'), bytes.subarray(0, bytes.length - 100));
    await expect(convertModel(tmp.path('cut-data.gguf'), tmp.path('cut-out'), {})).rejects.toThrow(CheckpointFormatError);
    await expect(convertModel(tmp.path('cut-data.gguf'), tmp.path('cut-out'), {})).rejects.toThrow(/truncated: tensor output\.weight ends at byte/);
    writeFileSync(tmp.path('cut-meta.gguf'), bytes.subarray(0, 300));
    await expect(convertModel(tmp.path('cut-meta.gguf'), tmp.path('cut-out'), {})).rejects.toThrow(CheckpointFormatError);

    const qwen: [string, GgufMeta][] = [['general.architecture', { t: 'str', v: 'qwen2' }]];
    await writeLlamaGguf(tmp.path('qwen.gguf'), untied, w, vocab.gguf, { linear: 'Q8_0' }, qwen);
    await expect(convertModel(tmp.path('qwen.gguf'), tmp.path('qwen-out'), {})).rejects.toThrow(UnsupportedArchitectureError);
    await expect(convertModel(tmp.path('qwen.gguf'), tmp.path('qwen-out'), {})).rejects.toThrow(/unsupported architecture qwen2/);

    const cli = await runConvertChild([tmp.path('k.gguf'), tmp.path('k-cli'), '--dtype', 'q4']);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/^error: UnsupportedTensorTypeError: .*k\.gguf: tensor output\.weight has GGML type Q6_K/m);
  });
});
