// Request bodies of the OpenAI-compatible endpoints, validated with zod. Unknown fields are
// ignored (clients send many optional ones); known ones are checked and mapped to 400s.
import { z } from 'zod';

const stop = z.union([z.string().min(1), z.array(z.string().min(1)).max(4)]).nullish();

/** Sampling and length fields both endpoints share. */
const common = {
  model: z.string().min(1),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  /** Extension (vLLM, llama.cpp): keep the k most likely tokens; 0 = off. */
  top_k: z.number().int().min(0).nullish(),
  max_tokens: z.number().int().min(1).nullish(),
  stop,
  seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  n: z.literal(1, { message: 'only n = 1 is supported' }).nullish(),
  /** Extension (as vLLM): add `prompt_token_ids` and each choice's `token_ids` to the response. */
  return_token_ids: z.boolean().nullish(),
};

const textPart = z.object({ type: z.literal('text'), text: z.string() });

export const chatMessageSchema = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: z.union([z.string(), z.array(textPart), z.null()]),
  name: z.string().optional(),
});

export const chatRequestSchema = z.object({
  ...common,
  messages: z.array(chatMessageSchema).min(1),
  max_completion_tokens: z.number().int().min(1).nullish(),
});

export const completionRequestSchema = z.object({
  ...common,
  prompt: z.union([
    z.string(),
    z.array(z.string()).length(1, { message: 'only one prompt per request is supported' }),
    z.array(z.number().int().min(0)).min(1),
  ]),
  echo: z.literal(false, { message: 'echo is not supported' }).nullish(),
});

export type ChatRequest = z.infer<typeof chatRequestSchema>;
export type ChatMessage = z.infer<typeof chatMessageSchema>;
export type CompletionRequest = z.infer<typeof completionRequestSchema>;
