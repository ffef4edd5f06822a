// Prompt length checked before the tokenizer runs: encoding is the costly step a client controls
// (BPE work grows with the text), and a text longer than the context could ever hold needs none.
import { badRequest, type ApiError } from './api-errors.ts';
import type { ChatMessage } from './api-schemas.ts';

/**
 * The most characters one token stands for that this bound allows. Typical text runs 3–5
 * characters a token; long whitespace or punctuation runs in big vocabularies reach a few dozen.
 * A prompt over `context × this` is refused unread; anything shorter is tokenized and checked exactly.
 */
export const MAX_CHARS_PER_TOKEN = 32;

export type PromptParam = 'prompt' | 'messages';

export const contextExceeded = (contextLength: number, what: string, param: PromptParam): ApiError =>
  badRequest(`This model's maximum context length is ${contextLength} tokens, but the ${param} ${what}`, param, 'context_length_exceeded');

/** Throws `context_length_exceeded` (naming `param`) when `chars` characters cannot fit `contextLength` tokens. */
export function checkPromptChars(chars: number, contextLength: number, param: PromptParam): void {
  const max = contextLength * MAX_CHARS_PER_TOKEN;
  if (chars > max) throw contextExceeded(contextLength, `has ${chars} characters (more than ${max} cannot fit; ${MAX_CHARS_PER_TOKEN} a token at most)`, param);
}

/** Characters of all messages' text. */
export function messageChars(messages: readonly ChatMessage[]): number {
  let n = 0;
  for (const m of messages) {
    if (typeof m.content === 'string') n += m.content.length;
    else if (m.content !== null) for (const part of m.content) n += part.text.length;
  }
  return n;
}
