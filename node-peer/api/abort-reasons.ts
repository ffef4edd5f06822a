// Why a request of the HTTP API stopped early, one class each: the abort reasons of its signal and
// the errors of its body stream. The edges tell them apart by class (docs/api.md, "Errors"): a
// client that left reads nothing more, a shutdown ends the request with a 503 error.
import { RingmeshError } from '../../shared/errors.ts';

/** The client closed its connection before the response ended: nobody reads the rest. */
export class ClientDisconnectedError extends RingmeshError {
  constructor() {
    super('the client closed the connection before the response ended');
  }
}

/** The API server is closing (`node-peer start` got SIGINT or SIGTERM): open requests end with a 503. */
export class ServerShuttingDownError extends RingmeshError {
  constructor() {
    super('The server is shutting down (the peer was stopped); retry on another peer or once it is back');
  }
}

/** The text reached one of the request's stop strings: the rest of its generation is not needed. */
export class StopStringReachedError extends RingmeshError {
  constructor() {
    super('a stop string was reached');
  }
}

/** The client closed the connection before the last byte of its request body. */
export class RequestBodyIncompleteError extends RingmeshError {
  constructor(
    readonly receivedBytes: number,
    options?: { cause?: unknown },
  ) {
    super(`the client closed the connection before the body ended (after ${receivedBytes} bytes)`, options);
  }
}
