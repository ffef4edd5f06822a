import { RingmeshError } from '../errors.ts';

/** A request failed more often than its retry budget allows; `cause` holds the last failure. */
export class RetriesExhaustedError extends RingmeshError {
  constructor(
    readonly session: string,
    readonly failures: number,
    readonly lastReason: string,
  ) {
    super(`session ${session}: ring failed ${failures} times, expected at most ${failures - 1} (last failure: ${lastReason})`);
  }
}

/** A request did not complete before its deadline. */
export class DeadlineExceededError extends RingmeshError {
  constructor(
    readonly session: string,
    readonly deadlineAt: number,
    readonly tokens: number,
  ) {
    super(`session ${session}: deadline ${deadlineAt} passed after ${tokens} tokens, expected completion before it`);
  }
}

/**
 * A request saw no token for longer than its deadline allows (docs/ring.md, "Deadlines"): `first`
 * when none had come since it was made, `next` when the ring stalled after `tokens` tokens.
 */
export class RingTimeoutError extends RingmeshError {
  constructor(
    readonly session: string,
    readonly wait: 'first' | 'next',
    readonly limitMs: number,
    readonly tokens: number,
  ) {
    super(
      wait === 'first'
        ? `session ${session}: no first token within ${limitMs} ms, expected one from the ring (a stage that never answers, or links that do not carry)`
        : `session ${session}: no token within ${limitMs} ms after token ${tokens}, expected the next one from the ring (a stage stalled or a link went down)`,
    );
  }
}

/** No ring was ready to serve a request within the wait allowed for one. */
export class NoRingError extends RingmeshError {
  constructor(
    readonly session: string,
    readonly waitedMs: number,
  ) {
    super(`session ${session}: no ready ring after waiting ${waitedMs} ms, expected a plan whose stages are all ready`);
  }
}

/** Generation options out of range (maxTokens < 1, temperature < 0, …). */
export class InvalidGenerateOptionsError extends RingmeshError {
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(`generate option ${field}: ${detail}`);
  }
}

/** A stage refused to open the session: it holds as many sessions (in all, or of this requester) or as much KV as it may. */
export class RingBusyError extends RingmeshError {
  constructor(
    readonly session: string,
    readonly stage: string,
  ) {
    super(`session ${session}: stage ${stage} is at its session or KV limit, expected room for one more session (try again later)`);
  }
}

/** A RingPeer was made before its signaling client joined the room: it needs the peer id the server gives. */
export class RingPeerNotJoinedError extends RingmeshError {
  constructor() {
    super('RingPeer needs a joined signaling client (its peer id), expected the client to have joined first');
  }
}
