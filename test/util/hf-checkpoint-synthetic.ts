import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseLlama2cVocab } from '../../shared/tokenizer/llama2c-vocab.ts';
import { byteLevelVocab } from '../../shared/tokenizer/byte-level-vocab.ts';
import { serializeLlama2cVocab } from '../../shared/tokenizer/llama2c-vocab.ts';
import { encodeSafetensors } from '../../node-peer/convert/safetensors.ts';
import { llama2cVocabToHfJson } from './hf-tokenizer-json.ts';

/** A Llama shape for a large made-up checkpoint (memory and speed tests of the converter). */
export interface SyntheticShape {
  readonly vocab: number;
  readonly hidden: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly intermediate: number;
  /** Write lm_head.weight as its own tensor (default true: the largest tensor twice). */
  readonly untied?: boolean;
  readonly seed?: number;
}

const CHUNK_VALUES = 1 << 22; // 8 MiB of bf16 per write: the writer itself stays small

/** xorshift32, two values per draw: sign, 2 bits of exponent (2^-8..2^-5), 7 of mantissa. Returns the state. */
function fillRandomBf16(out: Uint16Array, n: number, seed: number): number {
  let x = seed;
  for (let i = 0; i < n; i += 2) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const hi = x >>> 16;
    const lo = x & 0xffff;
    out[i] = (hi & 0x8000) | ((119 + ((hi >> 7) & 3)) << 7) | (hi & 0x7f);
    out[i + 1] = (lo & 0x8000) | ((119 + ((lo >> 7) & 3)) << 7) | (lo & 0x7f);
  }
  return x;
}

/** Tensor names and shapes of a Hugging Face Llama checkpoint of `s`, in file order. */
export function syntheticTensors(s: SyntheticShape): { name: string; shape: number[] }[] {
  const hd = s.hidden / s.heads;
  const t: { name: string; shape: number[] }[] = [{ name: 'model.embed_tokens.weight', shape: [s.vocab, s.hidden] }];
  for (let l = 0; l < s.layers; l++) {
    const p = `model.layers.${l}.`;
    t.push(
      { name: `${p}input_layernorm.weight`, shape: [s.hidden] },
      { name: `${p}self_attn.q_proj.weight`, shape: [s.heads * hd, s.hidden] },
      { name: `${p}self_attn.k_proj.weight`, shape: [s.kvHeads * hd, s.hidden] },
      { name: `${p}self_attn.v_proj.weight`, shape: [s.kvHeads * hd, s.hidden] },
      { name: `${p}self_attn.o_proj.weight`, shape: [s.hidden, s.heads * hd] },
      { name: `${p}post_attention_layernorm.weight`, shape: [s.hidden] },
      { name: `${p}mlp.gate_proj.weight`, shape: [s.intermediate, s.hidden] },
      { name: `${p}mlp.up_proj.weight`, shape: [s.intermediate, s.hidden] },
      { name: `${p}mlp.down_proj.weight`, shape: [s.hidden, s.intermediate] },
    );
  }
  t.push({ name: 'model.norm.weight', shape: [s.hidden] });
  if (s.untied !== false) t.push({ name: 'lm_head.weight', shape: [s.vocab, s.hidden] });
  return t;
}

/**
 * Writes a BF16 Hugging Face checkpoint of shape `s` (model.safetensors, config.json, a byte-level
 * tokenizer.json) fast and in bounded memory: values are random bf16 bit patterns of magnitude
 * 2^-8..2^-4 drawn 8 MiB at a time (norms 1). Returns the safetensors file's size.
 */
export async function writeSyntheticHfCheckpoint(dir: string, s: SyntheticShape): Promise<number> {
  await mkdir(dir, { recursive: true });
  const tensors = syntheticTensors(s);
  const sized = tensors.map((t) => ({ ...t, dtype: 'BF16' as const, data: { length: t.shape.reduce((p, d) => p * d, 1) * 2 } as Uint8Array }));
  const [header] = encodeSafetensors(sized) as [Uint8Array];
  const fh = await open(join(dir, 'model.safetensors'), 'w');
  let bytes = header.length;
  try {
    await fh.write(header);
    let state = (s.seed ?? 1) >>> 0 || 1;
    const chunk = new Uint16Array(CHUNK_VALUES);
    for (const t of tensors) {
      const n = t.shape.reduce((p, d) => p * d, 1);
      for (let done = 0; done < n; done += CHUNK_VALUES) {
        const m = Math.min(CHUNK_VALUES, n - done);
        if (t.shape.length === 1) chunk.fill(0x3f80, 0, m);
        else state = fillRandomBf16(chunk, m, state);
        await fh.write(new Uint8Array(chunk.buffer, 0, m * 2));
        bytes += m * 2;
      }
    }
  } finally {
    await fh.close();
  }
  const hd = s.hidden / s.heads;
  await writeFile(
    join(dir, 'config.json'),
    JSON.stringify({
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      hidden_size: s.hidden,
      intermediate_size: s.intermediate,
      num_hidden_layers: s.layers,
      num_attention_heads: s.heads,
      num_key_value_heads: s.kvHeads,
      head_dim: hd,
      vocab_size: s.vocab,
      max_position_embeddings: 2048,
      rope_theta: 500000,
      rope_scaling: null,
      rms_norm_eps: 1e-5,
      tie_word_embeddings: s.untied === false,
      hidden_act: 'silu',
      torch_dtype: 'bfloat16',
    }),
  );
  const v = byteLevelVocab(s.vocab);
  const vocab = parseLlama2cVocab(serializeLlama2cVocab(v.pieces, v.scores), 'byte-level', s.vocab);
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(llama2cVocabToHfJson(vocab)));
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<s>', eos_token: '</s>', add_bos_token: true }));
  return bytes;
}
