import { RingmeshError } from '../errors.ts';

/** A `--split` / `--stages` request does not partition the model's layers. */
export class InvalidSplitError extends RingmeshError {
  constructor(
    readonly spec: string,
    readonly numLayers: number,
    detail: string,
  ) {
    super(`split "${spec}" for ${numLayers} layers: ${detail}`);
  }
}

/** The prompt alone does not fit in the positions allowed (context length or --steps). */
export class PromptTooLongError extends RingmeshError {
  constructor(
    readonly promptTokens: number,
    readonly maxPositions: number,
  ) {
    super(`prompt of ${promptTokens} tokens: expected at most ${maxPositions} positions`);
  }
}

/** A chain of stages does not cover layers [0, numLayers) contiguously. */
export class StageChainError extends RingmeshError {
  constructor(detail: string) {
    super(`stage chain: ${detail}`);
  }
}
