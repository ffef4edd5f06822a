import { RingmeshError } from '../errors.ts';

/** A run would push a session past the model's context length. */
export class ContextLengthExceededError extends RingmeshError {
  constructor(
    readonly session: string,
    readonly positions: number,
    readonly contextLength: number,
  ) {
    super(`session ${session}: ${positions} positions requested, the model's context length is ${contextLength}`);
  }
}

/** A stage got an input of the wrong kind or shape for its range. */
export class StageInputError extends RingmeshError {
  constructor(
    readonly range: string,
    detail: string,
  ) {
    super(`stage ${range}: ${detail}`);
  }
}

/** The runtime failed to create a session for a stage graph, or a run of it failed. */
export class EngineRuntimeError extends RingmeshError {
  constructor(
    readonly range: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`stage ${range}: ${detail}`, options);
  }
}

/** An engine was asked for a KV cache element type it does not keep (fp16 KV is Node-only). */
export class UnsupportedKvDtypeError extends RingmeshError {
  constructor(
    readonly engine: string,
    readonly kvDtype: string,
  ) {
    super(`the ${engine} engine keeps its KV cache in fp32 only, ${kvDtype} was asked for (fp16 KV: the Node engine, docs/engines.md)`);
  }
}
