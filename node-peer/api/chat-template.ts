import { Template } from '@huggingface/jinja';
import { badRequest } from './api-errors.ts';
import type { ChatMessage } from './api-schemas.ts';

/**
 * Used when a model ships no chat template (llama2.c checkpoints, demo models): one
 * "Role: content" line per message, then "Assistant:" for the reply. docs/api.md shows it.
 */
export const PLAIN_CHAT_TEMPLATE =
  "{% for message in messages %}{{ message['role'] | capitalize }}: {{ message['content'] }}\n{% endfor %}" +
  "{% if add_generation_prompt %}Assistant:{% endif %}";

export interface ChatTemplateContext {
  /** The model's Jinja template (tokenizer_config.json's `chat_template`), or null for the plain one. */
  readonly template: string | null;
  readonly bosToken?: string;
  readonly eosToken?: string;
}

export interface RenderedChat {
  readonly text: string;
  /** Whether the text already holds the BOS token (the template wrote it), so encoding must not add another. */
  readonly hasBos: boolean;
}

/** A compiled chat template: messages → prompt text, as transformers' `apply_chat_template`. */
export interface ChatRenderer {
  render(messages: readonly ChatMessage[]): RenderedChat;
}

export function createChatRenderer(ctx: ChatTemplateContext): ChatRenderer {
  const source = ctx.template ?? PLAIN_CHAT_TEMPLATE;
  const template = new Template(source);
  const bos = ctx.bosToken ?? '';
  return {
    render(messages) {
      const plain = messages.map((m) => ({
        role: m.role,
        content: typeof m.content === 'string' ? m.content : (m.content ?? []).map((p) => p.text).join(''),
        ...(m.name === undefined ? {} : { name: m.name }),
      }));
      let text: string;
      try {
        text = template.render({ messages: plain, add_generation_prompt: true, bos_token: bos, eos_token: ctx.eosToken ?? '' });
      } catch (err) {
        // Templates reject conversations they cannot express (e.g. roles not alternating): a client error.
        throw badRequest(`chat template: ${(err as Error).message}`, 'messages', 'invalid_messages');
      }
      return { text, hasBos: bos !== '' && text.startsWith(bos) };
    },
  };
}

/**
 * The text of the BOS and EOS tokens, for templates that write them (`{{ bos_token }}`): read from
 * tokenizer.json's `added_tokens`; empty when the tokenizer is not a tokenizer.json.
 */
export function specialTokenTexts(tokenizerBytes: Uint8Array | undefined, bos: number | null, eos: readonly number[]): { bosToken?: string; eosToken?: string } {
  if (tokenizerBytes === undefined) return {};
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(tokenizerBytes));
  } catch {
    return {}; // a binary llama2.c tokenizer: its models have no templates that name these tokens
  }
  const added = (json as { added_tokens?: Array<{ id: number; content: string }> }).added_tokens ?? [];
  const text = (id: number | null | undefined): string | undefined => added.find((t) => t.id === id)?.content;
  const bosToken = text(bos);
  const eosToken = text(eos[0]);
  return { ...(bosToken === undefined ? {} : { bosToken }), ...(eosToken === undefined ? {} : { eosToken }) };
}
