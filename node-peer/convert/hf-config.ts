import { z } from 'zod';
import type { LlamaArchitecture, RopeScaling } from '../../shared/model/manifest.ts';
import { CheckpointFormatError, UnsupportedArchitectureError } from './errors.ts';

const SUPPORTED_ARCHITECTURES = ['LlamaForCausalLM', 'Qwen2ForCausalLM', 'MistralForCausalLM'] as const;
const ROPE_SCALING_TYPES = ['linear', 'dynamic', 'llama3'];

const posInt = z.number().int().positive();
const configSchema = z.object({
  architectures: z.array(z.string()).min(1),
  hidden_size: posInt,
  intermediate_size: posInt,
  num_hidden_layers: posInt,
  num_attention_heads: posInt,
  num_key_value_heads: posInt.nullish(),
  head_dim: posInt.nullish(),
  vocab_size: posInt,
  max_position_embeddings: posInt,
  rope_theta: z.number().positive().nullish(),
  rope_scaling: z
    .object({
      type: z.string().optional(),
      rope_type: z.string().optional(),
      factor: z.number().positive().optional(),
      low_freq_factor: z.number().positive().optional(),
      high_freq_factor: z.number().positive().optional(),
      original_max_position_embeddings: posInt.optional(),
    })
    .nullish(),
  rms_norm_eps: z.number().positive().nullish(),
  tie_word_embeddings: z.boolean().nullish(),
  attention_bias: z.boolean().nullish(),
  sliding_window: posInt.nullish(),
  use_sliding_window: z.boolean().nullish(),
});

export interface HfModelConfig {
  readonly architecture: (typeof SUPPORTED_ARCHITECTURES)[number];
  readonly arch: LlamaArchitecture;
}

/** Reads config.json's fields into the manifest's architecture, with each class's defaults. */
export function parseHfConfig(json: unknown, file: string): HfModelConfig {
  const archName = (json as { architectures?: unknown })?.architectures;
  const first = Array.isArray(archName) ? archName[0] : undefined;
  if (typeof first !== 'string') throw new CheckpointFormatError(file, 'config.json has no "architectures" list');
  if (!(SUPPORTED_ARCHITECTURES as readonly string[]).includes(first)) throw new UnsupportedArchitectureError(file, first);
  const r = configSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new CheckpointFormatError(file, `config field ${issue?.path.join('.') ?? '?'}: ${issue?.message ?? 'invalid'}`, { cause: r.error });
  }
  const c = r.data;
  const architecture = first as HfModelConfig['architecture'];
  const kvHeads = c.num_key_value_heads ?? c.num_attention_heads;
  if (c.num_attention_heads % kvHeads !== 0) {
    throw new CheckpointFormatError(file, `num_key_value_heads ${kvHeads} must divide num_attention_heads ${c.num_attention_heads}`);
  }
  return {
    architecture,
    arch: {
      family: 'llama',
      hiddenSize: c.hidden_size,
      intermediateSize: c.intermediate_size,
      numLayers: c.num_hidden_layers,
      numHeads: c.num_attention_heads,
      numKvHeads: kvHeads,
      headDim: c.head_dim ?? c.hidden_size / c.num_attention_heads,
      vocabSize: c.vocab_size,
      contextLength: contextLength(architecture, c),
      ropeTheta: c.rope_theta ?? 10000,
      ropeScaling: ropeScaling(c.rope_scaling ?? null, file),
      rmsEps: c.rms_norm_eps ?? 1e-6,
      // transformers' Llama/Qwen2/Mistral configs default to untied; Qwen2 always has q/k/v biases.
      tiedEmbeddings: c.tie_word_embeddings ?? false,
      attentionBias: architecture === 'Qwen2ForCausalLM' ? true : (c.attention_bias ?? false),
    },
  };
}

/**
 * Positions served. With sliding-window attention (Mistral; Qwen2 when `use_sliding_window`) full
 * attention equals the model's own only within the window, so the context is capped there.
 */
function contextLength(architecture: HfModelConfig['architecture'], c: z.infer<typeof configSchema>): number {
  const windowed = architecture === 'MistralForCausalLM' || c.use_sliding_window === true;
  return windowed && typeof c.sliding_window === 'number' ? Math.min(c.max_position_embeddings, c.sliding_window) : c.max_position_embeddings;
}

function ropeScaling(s: z.infer<typeof configSchema>['rope_scaling'], file: string): RopeScaling | null {
  if (s === null || s === undefined) return null;
  const type = s.rope_type ?? s.type ?? 'default';
  if (type === 'default') return null;
  if (!ROPE_SCALING_TYPES.includes(type) || s.factor === undefined) {
    throw new CheckpointFormatError(file, `rope_scaling type ${type} unsupported (expected ${ROPE_SCALING_TYPES.join(', ')} with a factor)`);
  }
  return {
    type,
    factor: s.factor,
    ...(s.low_freq_factor === undefined ? {} : { lowFreqFactor: s.low_freq_factor }),
    ...(s.high_freq_factor === undefined ? {} : { highFreqFactor: s.high_freq_factor }),
    ...(s.original_max_position_embeddings === undefined ? {} : { originalMaxPositions: s.original_max_position_embeddings }),
  };
}
