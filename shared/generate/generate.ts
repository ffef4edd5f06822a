import type { Stage } from '../engine/engine.ts';
import type { SessionId } from '../ids.ts';
import { PromptTooLongError } from './errors.ts';
import { runChain } from './stage-chain.ts';

/** Picks the next token from the last position's logits (greedy, or seeded sampling). */
export type PickToken = (logits: Float32Array) => number;

export type StopReason = 'stop-id' | 'max-tokens' | 'max-positions';

export interface GenerateRequest {
  readonly session: SessionId;
  /** Encoded prompt, BOS included when the model uses one; at least one id. */
  readonly promptIds: readonly number[];
  readonly pick: PickToken;
  /** Ids that end generation (the model's EOS; 1 for llama2.c models). */
  readonly stopIds: readonly number[];
  /** Most tokens to generate (stop id not counted); default unlimited. */
  readonly maxTokens?: number;
  /**
   * Most positions in all, prompt included — run.c's `-n steps`. Clamped to the context length;
   * default the context length.
   */
  readonly maxPositions?: number;
  /** Called for each generated token as it is chosen (not for a final stop id). */
  readonly onToken?: (id: number) => void;
  readonly signal?: AbortSignal;
}

export interface GenerateResult {
  readonly promptIds: readonly number[];
  /** Chosen tokens in order; ends with the stop id when generation stopped on one (as golden-greedy.json). */
  readonly generatedIds: readonly number[];
  readonly stopReason: StopReason;
  /** Positions that went through the model (prefill + decode). */
  readonly positions: number;
}

/**
 * The local generation loop over a chain of stages (the ring's loop, one hop per stage): prefill
 * the whole prompt, then one position per generated token. Counting follows run.c: the logits at
 * position p choose the token at p + 1, and nothing is run at or past `maxPositions`.
 * Frees the session on every stage at the end, whatever happens.
 */
export async function generate(stages: readonly Stage[], contextLength: number, req: GenerateRequest): Promise<GenerateResult> {
  const limit = Math.min(req.maxPositions ?? contextLength, contextLength);
  const n = req.promptIds.length;
  if (n < 1 || n > limit) throw new PromptTooLongError(n, limit);
  const maxTokens = req.maxTokens ?? Number.POSITIVE_INFINITY;
  const generated: number[] = [];
  let stopReason: StopReason = 'max-positions';
  let positions = n;
  try {
    let logits = await runChain(stages, req.session, req.promptIds);
    // `next` sits at position `pos`; run.c stops once pos reaches steps.
    for (let pos = n; ; pos++) {
      if (generated.length >= maxTokens) {
        stopReason = 'max-tokens';
        break;
      }
      req.signal?.throwIfAborted();
      const next = req.pick(logits);
      generated.push(next);
      if (req.stopIds.includes(next)) {
        stopReason = 'stop-id';
        break;
      }
      req.onToken?.(next);
      if (pos >= limit) break; // no room to run the token just chosen
      if (generated.length >= maxTokens) {
        stopReason = 'max-tokens';
        break;
      }
      logits = await runChain(stages, req.session, [next]);
      positions++;
    }
  } finally {
    for (const s of stages) s.freeSession(req.session);
  }
  return { promptIds: [...req.promptIds], generatedIds: generated, stopReason, positions };
}
