import { describe, expect, it } from 'vitest';
import { CheckpointFormatError, UnsupportedArchitectureError } from '../../../node-peer/convert/errors.ts';
import { parseHfConfig } from '../../../node-peer/convert/hf-config.ts';

const base = {
  architectures: ['LlamaForCausalLM'],
  hidden_size: 64,
  intermediate_size: 172,
  num_hidden_layers: 2,
  num_attention_heads: 8,
  vocab_size: 512,
  max_position_embeddings: 256,
};

describe('config.json → architecture', () => {
  it('applies Llama defaults (kv heads = heads, headDim = hidden/heads, theta 1e4, untied)', () => {
    expect(parseHfConfig(base, 'c.json').arch).toMatchObject({
      numKvHeads: 8,
      headDim: 8,
      ropeTheta: 10000,
      ropeScaling: null,
      rmsEps: 1e-6,
      tiedEmbeddings: false,
      attentionBias: false,
      contextLength: 256,
    });
  });

  it('reads GQA, head_dim, rope_theta, rope_scaling, eps and tying; Qwen2 always has q/k/v biases', () => {
    const { arch, architecture } = parseHfConfig(
      {
        ...base,
        architectures: ['Qwen2ForCausalLM'],
        num_key_value_heads: 2,
        head_dim: 16,
        rope_theta: 1e6,
        rms_norm_eps: 1e-5,
        tie_word_embeddings: true,
        rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
      },
      'c.json',
    );
    expect(architecture).toBe('Qwen2ForCausalLM');
    expect(arch).toMatchObject({ numKvHeads: 2, headDim: 16, ropeTheta: 1e6, rmsEps: 1e-5, tiedEmbeddings: true, attentionBias: true });
    expect(arch.ropeScaling).toEqual({ type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 });
    expect(parseHfConfig({ ...base, architectures: ['MistralForCausalLM'], rope_scaling: { type: 'default' } }, 'c').arch.ropeScaling).toBeNull();
    // Sliding-window attention: full attention is exact only within the window.
    expect(parseHfConfig({ ...base, architectures: ['MistralForCausalLM'], sliding_window: 128 }, 'c').arch.contextLength).toBe(128);
    expect(parseHfConfig({ ...base, architectures: ['Qwen2ForCausalLM'], sliding_window: 128, use_sliding_window: false }, 'c').arch.contextLength).toBe(256);
  });

  it('rejects other architectures, unknown rope scaling and inconsistent heads with typed errors naming the file', () => {
    expect(() => parseHfConfig({ ...base, architectures: ['GPT2LMHeadModel'] }, 'x/config.json')).toThrow(UnsupportedArchitectureError);
    expect(() => parseHfConfig({ ...base, architectures: ['GPT2LMHeadModel'] }, 'x/config.json')).toThrow(/x\/config\.json/);
    expect(() => parseHfConfig({ ...base, rope_scaling: { type: 'yarn', factor: 4 } }, 'c.json')).toThrow(CheckpointFormatError);
    expect(() => parseHfConfig({ ...base, num_key_value_heads: 3 }, 'c.json')).toThrow(CheckpointFormatError);
    expect(() => parseHfConfig({ ...base, hidden_size: 'big' }, 'c.json')).toThrow(/hidden_size/);
    expect(() => parseHfConfig({}, 'c.json')).toThrow(CheckpointFormatError);
  });
});
