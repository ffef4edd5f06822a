import { mkdir, open, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { float32ToBf16, float32ToHalf } from '../../shared/util/half-float.ts';
import { parseLlama2cVocab } from '../../shared/tokenizer/llama2c-vocab.ts';
import { LLAMA2C_HEADER_BYTES, parseLlama2cHeader, readFloats } from '../../node-peer/convert/llama2c-checkpoint.ts';
import { hfTensorName } from '../../node-peer/convert/hf-weights.ts';
import { unitTensorShapes } from '../../node-peer/convert/llama-units.ts';
import { interleavedToRotateHalf } from '../../node-peer/convert/rope-permute.ts';
import type { LlamaArchitecture } from '../../shared/model/manifest.ts';
import { encodeSafetensors, type SafetensorsDType } from '../../node-peer/convert/safetensors.ts';
import { llama2cVocabToHfJson } from './hf-tokenizer-json.ts';

export interface HfCheckpointOptions {
  readonly dtype: SafetensorsDType;
  /** Split the tensors over this many shard files with a model.safetensors.index.json (default 1: one model.safetensors). */
  readonly shards?: number;
  /** Write lm_head.weight (a copy of the embedding) and tie_word_embeddings: false. */
  readonly untied?: boolean;
  readonly architecture?: string;
}

export const TEST_CHAT_TEMPLATE = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}";

/**
 * Writes the weights of a llama2.c checkpoint as a real Hugging Face checkpoint directory:
 * config.json, safetensors with q/k rows in rotate-half order (permuted, as HF's own conversion
 * script does), tokenizer.json equivalent to the llama2.c tokenizer, tokenizer_config.json with a
 * chat template and generation_config.json (eos 1: these models end a text with BOS, as run.c stops).
 */
export async function writeHfCheckpoint(dir: string, checkpoint: string, tokenizer: string, o: HfCheckpointOptions): Promise<void> {
  const size = (await stat(checkpoint)).size;
  const fh = await open(checkpoint, 'r');
  const tensors: { name: string; shape: number[]; data: Float32Array }[] = [];
  let header;
  try {
    const head = new Uint8Array(LLAMA2C_HEADER_BYTES);
    await fh.read(head, 0, head.length, 0);
    const layout = parseLlama2cHeader(head, size, checkpoint);
    header = layout.header;
    const { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize } = header;
    const hd = dim / nHeads;
    const kv = nKvHeads * hd;
    const read = (off: number, shape: number[], layer = 0): Promise<Float32Array> => {
      const n = shape.reduce((p, d) => p * d, 1);
      return readFloats(fh, off + layer * n * 4, n);
    };
    const of = layout.offsets;
    tensors.push({ name: 'model.embed_tokens.weight', shape: [vocabSize, dim], data: await read(of.embed, [vocabSize, dim]) });
    for (let l = 0; l < nLayers; l++) {
      const p = `model.layers.${l}.`;
      const add = async (name: string, off: number, shape: number[], fix?: (d: Float32Array) => Float32Array): Promise<void> => {
        const data = await read(off, shape, l);
        tensors.push({ name: p + name, shape, data: fix === undefined ? data : fix(data) });
      };
      await add('input_layernorm.weight', of.rmsAtt, [dim]);
      await add('self_attn.q_proj.weight', of.wq, [dim, dim], (d) => interleavedToRotateHalf(d, nHeads, hd, dim));
      await add('self_attn.k_proj.weight', of.wk, [kv, dim], (d) => interleavedToRotateHalf(d, nKvHeads, hd, dim));
      await add('self_attn.v_proj.weight', of.wv, [kv, dim]);
      await add('self_attn.o_proj.weight', of.wo, [dim, dim]);
      await add('post_attention_layernorm.weight', of.rmsFfn, [dim]);
      await add('mlp.gate_proj.weight', of.w1, [hiddenDim, dim]);
      await add('mlp.down_proj.weight', of.w2, [dim, hiddenDim]);
      await add('mlp.up_proj.weight', of.w3, [hiddenDim, dim]);
    }
    tensors.push({ name: 'model.norm.weight', shape: [dim], data: await read(of.rmsFinal, [dim]) });
    if (o.untied === true) tensors.push({ name: 'lm_head.weight', shape: [vocabSize, dim], data: await read(of.wcls, [vocabSize, dim]) });
  } finally {
    await fh.close();
  }
  await mkdir(dir, { recursive: true });
  const encoded = tensors.map((t) => ({ name: t.name, shape: t.shape, dtype: o.dtype, data: encodeAs(t.data, o.dtype) }));
  const shards = o.shards ?? 1;
  if (shards === 1) {
    await writeParts(join(dir, 'model.safetensors'), encodeSafetensors(encoded));
  } else {
    const weightMap: Record<string, string> = {};
    const per = Math.ceil(encoded.length / shards);
    for (let s = 0; s < shards; s++) {
      const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
      const part = encoded.slice(s * per, (s + 1) * per);
      for (const t of part) weightMap[t.name] = file;
      await writeParts(join(dir, file), encodeSafetensors(part));
    }
    const totalSize = encoded.reduce((n, t) => n + t.data.length, 0);
    await writeJson(join(dir, 'model.safetensors.index.json'), { metadata: { total_size: totalSize }, weight_map: weightMap });
  }
  const h = header;
  await writeJson(join(dir, 'config.json'), {
    architectures: [o.architecture ?? 'LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: h.dim,
    intermediate_size: h.hiddenDim,
    num_hidden_layers: h.nLayers,
    num_attention_heads: h.nHeads,
    num_key_value_heads: h.nKvHeads,
    vocab_size: h.vocabSize,
    max_position_embeddings: h.seqLen,
    rope_theta: 10000,
    rope_scaling: null,
    rms_norm_eps: 1e-5,
    tie_word_embeddings: o.untied !== true,
    hidden_act: 'silu',
    torch_dtype: { F32: 'float32', F16: 'float16', BF16: 'bfloat16' }[o.dtype],
  });
  const tokBytes = new Uint8Array(await readFile(tokenizer));
  await writeJson(join(dir, 'tokenizer.json'), llama2cVocabToHfJson(parseLlama2cVocab(tokBytes, tokenizer, h.vocabSize)));
  await writeJson(join(dir, 'tokenizer_config.json'), {
    bos_token: '<s>',
    eos_token: '</s>',
    unk_token: '<unk>',
    add_bos_token: true,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
    chat_template: TEST_CHAT_TEMPLATE,
    tokenizer_class: 'LlamaTokenizer',
  });
  await writeJson(join(dir, 'generation_config.json'), { bos_token_id: 1, eos_token_id: [1] });
}

/**
 * Writes manifest-named fp32 weights (q/k already rotate-half) as a Hugging Face Llama checkpoint:
 * model.safetensors at `dtype`, config.json for `arch`, the given tokenizer.json, BOS 1 / EOS 2.
 */
export async function writeHfCheckpointFromWeights(
  dir: string,
  arch: LlamaArchitecture,
  weights: ReadonlyMap<string, Float32Array>,
  tokenizerJson: unknown,
  dtype: SafetensorsDType,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tensors = [];
  for (const unit of ['embed', ...Array.from({ length: arch.numLayers }, (_, i) => i), 'head'] as const) {
    for (const [name, shape] of unitTensorShapes(arch, unit)) {
      if (name === 'lm_head.weight' && arch.tiedEmbeddings) continue;
      const data = weights.get(name);
      if (data === undefined) throw new Error(`no weight ${name}`);
      tensors.push({ name: hfTensorName(name, arch.tiedEmbeddings), shape, dtype, data: encodeAs(data, dtype) });
    }
  }
  await writeParts(join(dir, 'model.safetensors'), encodeSafetensors(tensors));
  await writeJson(join(dir, 'config.json'), {
    architectures: ['LlamaForCausalLM'],
    hidden_size: arch.hiddenSize,
    intermediate_size: arch.intermediateSize,
    num_hidden_layers: arch.numLayers,
    num_attention_heads: arch.numHeads,
    num_key_value_heads: arch.numKvHeads,
    head_dim: arch.headDim,
    vocab_size: arch.vocabSize,
    max_position_embeddings: arch.contextLength,
    rope_theta: arch.ropeTheta,
    rms_norm_eps: arch.rmsEps,
    tie_word_embeddings: arch.tiedEmbeddings,
  });
  await writeJson(join(dir, 'tokenizer.json'), tokenizerJson);
  await writeJson(join(dir, 'tokenizer_config.json'), { bos_token: '<s>', eos_token: '</s>', add_bos_token: true });
}

function encodeAs(data: Float32Array, dtype: SafetensorsDType): Uint8Array {
  const typed = dtype === 'F32' ? data : dtype === 'F16' ? float32ToHalf(data) : float32ToBf16(data);
  return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
}

async function writeParts(path: string, parts: Uint8Array[]): Promise<void> {
  const fh = await open(path, 'w');
  try {
    for (const p of parts) await fh.write(p);
  } finally {
    await fh.close();
  }
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}
