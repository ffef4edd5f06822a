import { RingmeshError } from '../errors.ts';

/** A model shape or member list the planner cannot reason about (negative bytes, zero speed …). */
export class InvalidPlanInputError extends RingmeshError {
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(`planner input ${field}: ${detail}`);
  }
}

/** Two members share one peer id; ids are assigned by the server and must be unique. */
export class DuplicateMemberError extends RingmeshError {
  constructor(readonly peerId: string) {
    super(`planner input: peer ${peerId} appears more than once in the member list, expected unique peer ids`);
  }
}

/**
 * The members cannot hold the model. `missingBytes` is the smallest memory budget one more peer
 * would need to bring for a plan to exist (see docs/planner.md).
 */
export class InsufficientMemoryError extends RingmeshError {
  constructor(
    readonly missingBytes: number,
    readonly requiredBytes: number,
  ) {
    super(
      `insufficient memory: ${missingBytes} more bytes needed (one more peer with that budget would make a plan; ` +
        `the model needs ${requiredBytes} bytes in all)`,
    );
  }
}

/** A plan received from elsewhere (or built by hand) breaks coverage or a memory budget. */
export class InvalidPlanError extends RingmeshError {
  constructor(detail: string) {
    super(`invalid plan: ${detail}`);
  }
}
