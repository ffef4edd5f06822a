import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convertHf } from '../../../node-peer/convert/convert-hf.ts';
import { CheckpointFormatError } from '../../../node-peer/convert/errors.ts';
import { encodeSafetensors, openSafetensors, type SafetensorsDType } from '../../../node-peer/convert/safetensors.ts';
import { openModelPackage } from '../../../node-peer/model/open-model-package.ts';
import { bf16ToFloat32, float32ToBf16 } from '../../../shared/util/half-float.ts';
import { fillNormal, Xoshiro128 } from '../../../shared/random/xoshiro128.ts';
import { tensorArray } from '../../../shared/model/tensor-view.ts';
import { byteLevelVocab } from '../../../shared/tokenizer/byte-level-vocab.ts';
import { llama2cVocabToHfJson } from '../../util/hf-tokenizer-json.ts';
import { makeTempDir } from '../../util/temp-dir.ts';

const tmp = makeTempDir('safetensors');
afterAll(tmp.cleanup);

describe('safetensors reader', () => {
  it('reads F32/F16/BF16 widened to fp32 and rejects malformed headers', async () => {
    const v = Float32Array.from([1, -2.5, 0.333, 1024]);
    const bf = float32ToBf16(v);
    const f = tmp.path('a.safetensors');
    writeFileSync(
      f,
      Buffer.concat(
        encodeSafetensors([
          { name: 'x', dtype: 'F32', shape: [2, 2], data: new Uint8Array(v.buffer) },
          { name: 'y', dtype: 'BF16', shape: [4], data: new Uint8Array(bf.buffer) },
        ]),
      ),
    );
    const st = await openSafetensors(f);
    expect(await st.readFloat32('x')).toEqual(v);
    expect(await st.readFloat32('y')).toEqual(bf16ToFloat32(bf));
    await st.close();
    const bad = async (name: string, bytes: Uint8Array, msg: RegExp): Promise<void> => {
      writeFileSync(tmp.path(name), bytes);
      const err = await openSafetensors(tmp.path(name)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CheckpointFormatError);
      expect((err as Error).message).toMatch(msg);
      expect((err as Error).message).toContain(name);
    };
    const header = withHeader;
    await bad('short.safetensors', new Uint8Array(3), /truncated/);
    await bad('huge.safetensors', Uint8Array.of(255, 255, 255, 255, 0, 0, 0, 0, 1), /header length/);
    await bad('int.safetensors', header({ x: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }), /dtype I64/);
    await bad('shape.safetensors', header({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }), /expected 12/);
    await bad('past.safetensors', header({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }), /past the end/);
  });
});

function withHeader(h: unknown): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(h));
  const out = new Uint8Array(8 + json.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

describe('Qwen2 checkpoints', () => {
  it('carry q/k/v biases, untied head and rope theta into the package', async () => {
    const dir = tmp.path('qwen');
    mkdirSync(dir);
    const [h, f, heads, kv, hd, vocab] = [32, 64, 4, 2, 8, 300];
    const rng = new Xoshiro128(5);
    const t = (name: string, shape: number[]): { name: string; dtype: SafetensorsDType; shape: number[]; data: Uint8Array; values: Float32Array } => {
      const values = fillNormal(rng, new Float32Array(shape.reduce((a, b) => a * b, 1)), 0.02);
      return { name, dtype: 'F32', shape, data: new Uint8Array(values.buffer), values };
    };
    const tensors = [t('model.embed_tokens.weight', [vocab, h]), t('model.norm.weight', [h]), t('lm_head.weight', [vocab, h])];
    const p = 'model.layers.0.';
    tensors.push(
      t(`${p}input_layernorm.weight`, [h]),
      t(`${p}post_attention_layernorm.weight`, [h]),
      t(`${p}self_attn.q_proj.weight`, [heads * hd, h]),
      t(`${p}self_attn.q_proj.bias`, [heads * hd]),
      t(`${p}self_attn.k_proj.weight`, [kv * hd, h]),
      t(`${p}self_attn.k_proj.bias`, [kv * hd]),
      t(`${p}self_attn.v_proj.weight`, [kv * hd, h]),
      t(`${p}self_attn.v_proj.bias`, [kv * hd]),
      t(`${p}self_attn.o_proj.weight`, [h, heads * hd]),
      t(`${p}mlp.gate_proj.weight`, [f, h]),
      t(`${p}mlp.up_proj.weight`, [f, h]),
      t(`${p}mlp.down_proj.weight`, [h, f]),
    );
    writeFileSync(join(dir, 'model.safetensors'), Buffer.concat(encodeSafetensors(tensors)));
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({
        architectures: ['Qwen2ForCausalLM'],
        hidden_size: h,
        intermediate_size: f,
        num_hidden_layers: 1,
        num_attention_heads: heads,
        num_key_value_heads: kv,
        vocab_size: vocab,
        max_position_embeddings: 128,
        rope_theta: 1000000,
        rms_norm_eps: 1e-6,
        tie_word_embeddings: false,
      }),
    );
    const v = byteLevelVocab(vocab);
    const hfTok = llama2cVocabToHfJson({ maxTokenLength: 16, pieces: v.pieces, scores: Float32Array.from(v.scores) });
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(hfTok));
    writeFileSync(
      join(dir, 'tokenizer_config.json'),
      JSON.stringify({ bos_token: null, eos_token: '</s>', add_bos_token: false, chat_template: [{ name: 'default', template: 'T' }] }),
    );
    await convertHf(dir, tmp.path('qwen-pkg'), { dtype: 'fp16' });
    const pkg = await openModelPackage(tmp.path('qwen-pkg'));
    const m = pkg.manifest;
    expect(m.architecture).toMatchObject({ attentionBias: true, tiedEmbeddings: false, ropeTheta: 1000000, numKvHeads: 2 });
    expect(m.tokenizer).toMatchObject({ bos: null, eos: [2], addBos: false, chatTemplate: 'T' });
    const layer = await pkg.readUnit('layer-000');
    const kb = tensorArray(m, 'layers.0.k.bias', layer);
    const want = tensors.find((x) => x.name === `${p}self_attn.k_proj.bias`)?.values as Float32Array;
    expect(kb).toBeInstanceOf(Uint16Array);
    const { halfToFloat32 } = await import('../../../shared/util/half-float.ts');
    halfToFloat32(kb as Uint16Array).forEach((x, i) => expect(Math.abs(x - (want[i] as number))).toBeLessThan(1e-4));
    expect(m.tensors.filter((x) => x.unit === 'layer-000').map((x) => x.name)).toContain('layers.0.q.bias');
  });
});
