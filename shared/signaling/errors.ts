import { RingmeshError } from '../errors.ts';
import type { ErrorCode } from './protocol.ts';

/** A signaling frame that could not be accepted. `code` is the `error` frame's code. */
export class SignalingProtocolError extends RingmeshError {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The frame was not valid JSON (or not text). */
export class SignalingJsonError extends SignalingProtocolError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('bad-json', message, undefined, options);
  }
}

/** The frame was JSON but failed the schema; `field` is the dot path of the first bad field. */
export class SignalingSchemaError extends SignalingProtocolError {
  constructor(message: string, field: string, options?: { cause?: unknown }) {
    super('invalid-message', message, field, options);
  }
}

/** `hello.v` is a protocol version this side does not speak. */
export class SignalingVersionError extends SignalingProtocolError {
  constructor(
    readonly got: unknown,
    readonly expected: number,
  ) {
    super('unsupported-version', `protocol version ${String(got)} not supported, expected ${expected}`, 'v');
  }
}

/** An operation needs a joined client (after `welcome`) and the client is not. */
export class SignalingNotConnectedError extends RingmeshError {}

/** The client was closed, by `close()` or by a server close that forbids reconnecting. */
export class SignalingClosedError extends RingmeshError {
  constructor(
    message: string,
    readonly code?: number,
    readonly reason?: string,
  ) {
    super(message);
  }
}

/** The server answered with an `error` frame to a request this client made. */
export class SignalingServerError extends RingmeshError {
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(`signaling server: ${code}: ${message}${field ? ` (field ${field})` : ''}`);
  }
}
