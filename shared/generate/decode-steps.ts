import type { Stage } from '../engine/engine.ts';
import type { SessionId } from '../ids.ts';
import { PromptTooLongError } from './errors.ts';
import { runChain } from './stage-chain.ts';

/** Picks the token of `step` (0 = the token the prompt's logits choose) from the last position's logits. */
export type StepPick = (logits: Float32Array, step: number) => number;

/** Why decoding ends after a step. */
export type DecodeEnd = 'stop-id' | 'max-tokens' | 'max-positions';

export interface DecodeRequest {
  readonly session: SessionId;
  /** At least one id, at most `maxPositions`. */
  readonly promptIds: readonly number[];
  readonly pick: StepPick;
  /** Ids that end decoding; such an id is yielded (with `end: 'stop-id'`) but not run. */
  readonly stopIds?: readonly number[];
  /** Most tokens to yield, a stop id not counted; default unlimited. */
  readonly maxTokens?: number;
  /**
   * Most positions run through the model, prompt included (run.c's `-n steps`): the token chosen
   * at position `maxPositions` is yielded but not run. The caller clamps it to the context.
   */
  readonly maxPositions: number;
  /** Checked before each pick: aborting throws its reason out of the iteration. */
  readonly signal?: AbortSignal;
}

export interface DecodeStep {
  /** 0 for the token the prompt's logits choose, then 1, 2, … */
  readonly step: number;
  readonly id: number;
  /** Where the token sits: the prompt fills positions 0 … n − 1, so step k is at n + k. */
  readonly position: number;
  /** Set on the last step only: why decoding ends after it. */
  readonly end?: DecodeEnd;
}

/**
 * The local decode loop over a chain of stages (the ring's loop, one hop per stage): prefill the
 * prompt, then pick a token from the last logits, yield it, and run it only when the consumer asks
 * for the next one, so tokens are made as fast as they are read. Counting follows run.c: the
 * logits at position p choose the token at p + 1, and nothing is run at or past `maxPositions`.
 * Frees the session on every stage when the iteration ends, whichever way it ends (a consumer's
 * `break` included). Throws PromptTooLongError before running anything when the prompt does not fit.
 */
export async function* decodeSteps(stages: readonly Stage[], req: DecodeRequest): AsyncGenerator<DecodeStep, void, undefined> {
  const n = req.promptIds.length;
  if (n < 1 || n > req.maxPositions) throw new PromptTooLongError(n, req.maxPositions);
  const maxTokens = req.maxTokens ?? Number.POSITIVE_INFINITY;
  const stopIds = req.stopIds ?? [];
  try {
    let logits = await runChain(stages, req.session, req.promptIds);
    if (maxTokens < 1) return;
    // Bounded by positions: each step moves one position on, and the one at maxPositions ends.
    for (let step = 0, position = n; position <= req.maxPositions; step++, position++) {
      req.signal?.throwIfAborted();
      const id = req.pick(logits, step);
      const end = endAfter(stopIds.includes(id), position >= req.maxPositions, step + 1 >= maxTokens);
      yield end === undefined ? { step, id, position } : { step, id, position, end };
      if (end !== undefined) return;
      logits = await runChain(stages, req.session, [id]);
    }
  } finally {
    for (const s of stages) s.freeSession(req.session);
  }
}

/** A stop id wins; then no room to run the token; then the token budget (steps so far are all non-stop). */
function endAfter(stopId: boolean, noRoom: boolean, budgetSpent: boolean): DecodeEnd | undefined {
  if (stopId) return 'stop-id';
  if (noRoom) return 'max-positions';
  return budgetSpent ? 'max-tokens' : undefined;
}
