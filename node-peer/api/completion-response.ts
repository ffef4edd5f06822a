// A generation as OpenAI's response bodies: one JSON `chat.completion` / `text_completion`, or
// their server-sent chunks (docs/api.md, "Request fields").
import { randomBytes } from 'node:crypto';
import type { CompletionDelta, CompletionOutcome, CompletionParams } from './completion-stream.ts';
import { sseResponse } from './sse.ts';

export type Kind = 'chat' | 'text';

/** A validated request, tokenized: what the generation and its response need. */
export interface Prepared {
  readonly kind: Kind;
  readonly promptIds: readonly number[];
  readonly params: CompletionParams;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  readonly returnIds: boolean;
}

export interface ResponseContext {
  /** The model's name, as `model` of every body. */
  readonly model: string;
  /** `created`, in seconds since the epoch. */
  readonly created: number;
}

/**
 * The response for `gen`, the generation of `p`. Streaming, the first step runs before the
 * response starts, so a request the ring rejects outright (no ring, bad options) still gets a
 * proper HTTP error instead of a broken stream; later failures end the stream (sse.ts).
 */
export async function completionResponse(p: Prepared, gen: AsyncGenerator<CompletionDelta, CompletionOutcome>, c: ResponseContext): Promise<Response> {
  const id = `${p.kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomBytes(12).toString('hex')}`;
  const usage = (n: number): Record<string, number> => ({ prompt_tokens: p.promptIds.length, completion_tokens: n, total_tokens: p.promptIds.length + n });
  const promptIdsField = p.returnIds ? { prompt_token_ids: p.promptIds } : {};

  if (!p.stream) {
    let text = '';
    const ids: number[] = [];
    let step = await gen.next();
    while (step.done !== true) {
      text += step.value.text;
      ids.push(...step.value.ids);
      step = await gen.next();
    }
    const outcome: CompletionOutcome = step.value;
    const tokenIds = p.returnIds ? { token_ids: ids } : {};
    const choice =
      p.kind === 'chat'
        ? { index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: outcome.finishReason, ...tokenIds }
        : { index: 0, text, logprobs: null, finish_reason: outcome.finishReason, ...tokenIds };
    return Response.json({
      id,
      object: p.kind === 'chat' ? 'chat.completion' : 'text_completion',
      created: c.created,
      model: c.model,
      system_fingerprint: null,
      ...promptIdsField,
      choices: [choice],
      usage: usage(outcome.completionTokens),
    });
  }

  const first = await gen.next();
  const head = { id, object: p.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', created: c.created, model: c.model, system_fingerprint: null };
  const chunk = (delta: CompletionDelta | null, finishReason: string | null, extra: Record<string, unknown> = {}): unknown => {
    const ids = p.returnIds && delta !== null ? { token_ids: delta.ids } : {};
    const choice =
      p.kind === 'chat'
        ? { index: 0, delta: delta === null ? {} : { content: delta.text }, logprobs: null, finish_reason: finishReason, ...ids }
        : { index: 0, text: delta?.text ?? '', logprobs: null, finish_reason: finishReason, ...ids };
    return { ...head, ...extra, choices: [choice] };
  };
  async function* events(): AsyncGenerator<unknown> {
    if (p.kind === 'chat') {
      yield { ...head, ...promptIdsField, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] };
    }
    let step = first;
    let firstText = p.kind === 'text';
    while (step.done !== true) {
      yield chunk(step.value, null, firstText ? promptIdsField : {});
      firstText = false;
      step = await gen.next();
    }
    if (step.value.finishReason === null) return; // the client left; nobody reads the rest
    yield chunk(null, step.value.finishReason);
    if (p.includeUsage) yield { ...head, choices: [], usage: usage(step.value.completionTokens) };
  }
  return sseResponse(events(), async () => {
    await gen.return({ finishReason: null, completionTokens: 0 });
  });
}
