import type { Stage } from '../engine/engine.ts';
import type { SessionId } from '../ids.ts';
import { decodeSteps, type DecodeEnd, type StepPick } from './decode-steps.ts';

/** Picks the next token from the last position's logits (greedy, or seeded sampling by step). */
export type PickToken = StepPick;

export type StopReason = DecodeEnd;

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
 * Local generation to completion over a chain of stages (`decodeSteps`, collected): run.c's
 * counting, the stop id kept as the last generated id, an abort thrown (the signal's reason).
 * Throws PromptTooLongError when the prompt does not fit in the positions allowed.
 */
export async function generate(stages: readonly Stage[], contextLength: number, req: GenerateRequest): Promise<GenerateResult> {
  const steps = decodeSteps(stages, {
    session: req.session,
    promptIds: req.promptIds,
    pick: req.pick,
    stopIds: req.stopIds,
    maxPositions: Math.min(req.maxPositions ?? contextLength, contextLength),
    ...(req.maxTokens === undefined ? {} : { maxTokens: req.maxTokens }),
    ...(req.signal === undefined ? {} : { signal: req.signal }),
  });
  const generated: number[] = [];
  // Kept only when maxTokens < 1, where nothing is picked.
  let stopReason: StopReason = 'max-tokens';
  let positions = req.promptIds.length;
  for await (const s of steps) {
    generated.push(s.id);
    // Step k sits at position n + k, with k runs after the prefill.
    positions = s.position;
    if (s.end !== 'stop-id') req.onToken?.(s.id);
    if (s.end !== undefined) stopReason = s.end;
  }
  return { promptIds: [...req.promptIds], generatedIds: generated, stopReason, positions };
}
