import type { Requester } from '../../shared/ring/requester.ts';
import type { Tokenizer } from '../../shared/tokenizer/tokenizer.ts';
import { ServerShuttingDownError, StopStringReachedError } from './abort-reasons.ts';
import { StopStringMatcher } from './stop-strings.ts';

export interface CompletionParams {
  readonly maxTokens: number;
  readonly temperature: number;
  readonly topP: number;
  readonly topK?: number;
  readonly seed?: number;
  readonly stopStrings: readonly string[];
}

/** Text newly printable plus the token ids that produced it (ids may come with empty text). */
export interface CompletionDelta {
  readonly text: string;
  readonly ids: readonly number[];
}

export interface CompletionOutcome {
  /** `null` when the client went away (cancelled); a shutdown throws `ServerShuttingDownError` instead. */
  readonly finishReason: 'stop' | 'length' | null;
  /** Tokens the model generated (a stop token excluded, the tokens of a stop string included). */
  readonly completionTokens: number;
}

/**
 * One generation through the requester as text deltas: decodes ids as they stream (the prompt as
 * decoder context), cuts at the first stop string (then cancels the rest of the generation) and
 * ends with the finish reason. `signal` is the request's: aborting it cancels generation; when its
 * reason is a `ServerShuttingDownError` the generator throws it, so the client is told why.
 */
export async function* streamCompletion(
  requester: Requester,
  tokenizer: Tokenizer,
  promptIds: readonly number[],
  p: CompletionParams,
  signal: AbortSignal,
): AsyncGenerator<CompletionDelta, CompletionOutcome> {
  signal.throwIfAborted();
  const local = new AbortController();
  const cancel = (): void => local.abort(signal.reason);
  signal.addEventListener('abort', cancel, { once: true });
  const decoder = tokenizer.createDecoder(promptIds);
  const stops = new StopStringMatcher(p.stopStrings);
  let count = 0;
  let pending: number[] = [];
  try {
    const events = requester.generate(promptIds, {
      maxTokens: p.maxTokens,
      temperature: p.temperature,
      topP: p.topP,
      stop: tokenizer.eos,
      signal: local.signal,
      ...(p.topK === undefined ? {} : { topK: p.topK }),
      ...(p.seed === undefined ? {} : { seed: p.seed }),
    });
    for await (const ev of events) {
      if (ev.kind === 'token') {
        count++;
        pending.push(ev.id);
        const text = stops.push(decoder.push(ev.id));
        if (text.length > 0 || stops.stopped) {
          yield { text, ids: pending };
          pending = [];
        }
        if (stops.stopped) {
          local.abort(new StopStringReachedError());
          return { finishReason: 'stop', completionTokens: count };
        }
        continue;
      }
      if (ev.reason === 'cancelled') return cancelled(signal, count);
      const tail = stops.push(decoder.end());
      const rest = stops.stopped ? tail : tail + stops.end();
      if (rest.length > 0 || pending.length > 0) yield { text: rest, ids: pending };
      return { finishReason: ev.reason === 'stop' || stops.stopped ? 'stop' : 'length', completionTokens: count };
    }
    return cancelled(signal, count);
  } finally {
    signal.removeEventListener('abort', cancel);
  }
}

/** The outcome of a generation cut off by `signal`: a client that left reads nothing, a shutdown is an error it reads. */
function cancelled(signal: AbortSignal, count: number): CompletionOutcome {
  if (signal.reason instanceof ServerShuttingDownError) throw signal.reason;
  return { finishReason: null, completionTokens: count };
}
