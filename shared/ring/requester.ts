// The library-level requester API: what the HTTP API and the web page call. The network
// implementation drives applyRequesterEvent (requester-fold.ts) over a transport.
import type { PeerId } from '../ids.ts';
import { InvalidGenerateOptionsError } from './errors.ts';
import type { SamplingOptions } from './messages.ts';
import type { RequestSpec } from './requester-state.ts';

/** Options of one generation. Defaults: greedy (temperature 0), topP 1, topK 0 (off), no stop ids. */
export interface GenerateOptions {
  /** Tokens to generate at most (≥ 1). */
  readonly maxTokens: number;
  readonly temperature?: number;
  readonly topP?: number;
  readonly topK?: number;
  /** Seed of the sampler; the requester picks one if absent, and keeps it across re-submissions. */
  readonly seed?: number;
  /** Token ids that end generation; the stop id itself is not emitted. */
  readonly stop?: readonly number[];
  /** Milliseconds from the call by which generation must complete. */
  readonly timeoutMs?: number;
  /** Aborting ends the iteration (reason `cancelled`) and frees the ring's caches. */
  readonly signal?: AbortSignal;
}

/** What the iterator yields: each token as it arrives, then one `end`. Failures are thrown. */
export type TokenEvent =
  | { readonly kind: 'token'; readonly step: number; readonly id: number }
  | {
      readonly kind: 'end';
      readonly reason: 'stop' | 'length' | 'cancelled';
      readonly tokens: readonly number[];
      /** The stop id that ended generation, when reason is `stop`. */
      readonly stopToken?: number;
    };

/**
 * Generates through the ring. The iterator throws RetriesExhaustedError, DeadlineExceededError
 * or NoRingError (shared/ring/errors.ts) when a request cannot complete; it never just stops.
 */
export interface Requester {
  readonly peerId: PeerId;
  generate(prompt: readonly number[], options: GenerateOptions): AsyncIterable<TokenEvent>;
}

/**
 * Validated request spec from caller options. `now` and `pickSeed` are injected (clock, rng) so
 * the result is reproducible in tests.
 */
/** What the served model accepts: checked up front, since a stage would fail the same way on every retry. */
export interface ModelLimits {
  readonly vocabSize: number;
  /** Positions a session may fill: prompt + generated tokens fed back (the last one is not). */
  readonly contextTokens: number;
}

export function toRequestSpec(prompt: readonly number[], options: GenerateOptions, now: number, pickSeed: () => number, limits?: ModelLimits): RequestSpec {
  const check = (field: string, ok: boolean, expected: string, value: unknown): void => {
    if (!ok) throw new InvalidGenerateOptionsError(field, `${String(value)}, expected ${expected}`);
  };
  check('prompt', prompt.length > 0 && prompt.every((t) => Number.isInteger(t) && t >= 0), 'a non-empty list of token ids', `[${prompt.length} ids]`);
  check('maxTokens', Number.isInteger(options.maxTokens) && options.maxTokens >= 1, 'an integer ≥ 1', options.maxTokens);
  if (limits !== undefined) {
    const bad = prompt.find((t) => t >= limits.vocabSize);
    check('prompt', bad === undefined, `token ids below the vocabulary size ${limits.vocabSize}`, `id ${bad}`);
    const positions = prompt.length + options.maxTokens - 1;
    check(
      'maxTokens',
      positions <= limits.contextTokens,
      `prompt (${prompt.length}) + maxTokens − 1 ≤ the context of ${limits.contextTokens}`,
      options.maxTokens,
    );
  }
  const sampling: SamplingOptions = {
    temperature: options.temperature ?? 0,
    topP: options.topP ?? 1,
    topK: options.topK ?? 0,
    seed: options.seed ?? pickSeed(),
  };
  check('temperature', Number.isFinite(sampling.temperature) && sampling.temperature >= 0, 'a finite number ≥ 0', sampling.temperature);
  check('topP', sampling.topP > 0 && sampling.topP <= 1, 'a number in (0, 1]', sampling.topP);
  check('topK', Number.isInteger(sampling.topK) && sampling.topK >= 0, 'an integer ≥ 0', sampling.topK);
  check('seed', Number.isSafeInteger(sampling.seed), 'a safe integer', sampling.seed);
  const stop = options.stop ?? [];
  check(
    'stop',
    stop.every((t) => Number.isInteger(t) && t >= 0),
    'token ids',
    `[${stop.join(', ')}]`,
  );
  const spec: RequestSpec = { prompt: [...prompt], maxTokens: options.maxTokens, stop: [...stop], sampling };
  if (options.timeoutMs === undefined) return spec;
  check('timeoutMs', Number.isFinite(options.timeoutMs) && options.timeoutMs > 0, 'a number > 0', options.timeoutMs);
  return { ...spec, deadlineAt: now + options.timeoutMs };
}
