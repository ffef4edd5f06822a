// Chat messages → prompt text with the model's Jinja chat template (as transformers'
// `apply_chat_template`), or a plain template for models without one. Used by the Node peer's
// OpenAI-compatible API and by the web page's chat; pure (no Node or DOM imports).
import { Template } from '@huggingface/jinja';
import { RingmeshError } from '../errors.ts';

/** One chat message; content as a string or OpenAI's list of text parts. */
export interface ChatMessage {
  readonly role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  readonly content: string | readonly { readonly type: 'text'; readonly text: string }[] | null;
  readonly name?: string | undefined;
}

/** The template refused the conversation (e.g. roles not alternating) or failed to render. */
export class ChatTemplateError extends RingmeshError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super(`chat template: ${detail}`, options);
  }
}

/**
 * Used when a model ships no chat template (llama2.c checkpoints, demo models): one
 * "Role: content" line per message, then "Assistant:" for the reply. docs/api.md shows it.
 */
export const PLAIN_CHAT_TEMPLATE =
  "{% for message in messages %}{{ message['role'] | capitalize }}: {{ message['content'] }}\n{% endfor %}" +
  '{% if add_generation_prompt %}Assistant:{% endif %}';

export interface ChatTemplateContext {
  /** The model's Jinja template (tokenizer_config.json's `chat_template`), or null for the plain one. */
  readonly template: string | null;
  readonly bosToken?: string;
  readonly eosToken?: string;
}

export interface RenderedChat {
  readonly text: string;
  /** Whether the text already starts with the BOS token (the template wrote it): encode without adding another. */
  readonly hasBos: boolean;
}

export interface ChatRenderer {
  render(messages: readonly ChatMessage[]): RenderedChat;
}

export function createChatRenderer(ctx: ChatTemplateContext): ChatRenderer {
  const template = new Template(ctx.template ?? PLAIN_CHAT_TEMPLATE);
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
        throw new ChatTemplateError((err as Error).message, { cause: err });
      }
      return { text, hasBos: bos !== '' && text.startsWith(bos) };
    },
  };
}

/**
 * The text of the BOS and EOS tokens, for templates that write them (`{{ bos_token }}`): read from
 * tokenizer.json's `added_tokens`; nothing for other tokenizer files.
 */
export function specialTokenTexts(
  tokenizerBytes: Uint8Array | undefined,
  bos: number | null,
  eos: readonly number[],
): { bosToken?: string; eosToken?: string } {
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
