import { ContextLengthExceededError } from '../../shared/engine/errors.ts';
import { PromptTooLongError } from '../../shared/generate/errors.ts';
import {
  DeadlineExceededError,
  InvalidGenerateOptionsError,
  NoRingError,
  RetriesExhaustedError,
  RingBusyError,
  RingTimeoutError,
} from '../../shared/ring/errors.ts';
import { ServerShuttingDownError } from './abort-reasons.ts';
import { ApiError } from './api-errors.ts';

/** The HTTP mapping of every failure a request can meet; anything unknown is a 500. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  if (err instanceof InvalidGenerateOptionsError) return new ApiError(400, msg, 'invalid_request_error', err.field, 'invalid_value', { cause: err });
  if (err instanceof PromptTooLongError || err instanceof ContextLengthExceededError) {
    return new ApiError(400, msg, 'invalid_request_error', 'messages', 'context_length_exceeded', { cause: err });
  }
  if (err instanceof NoRingError)
    return new ApiError(503, `No ring is ready to serve this model yet: ${msg}`, 'service_unavailable', null, 'no_ring', { cause: err });
  // A stage at its session or KV limit: the same request can succeed once others finish.
  if (err instanceof RingBusyError) return new ApiError(503, msg, 'service_unavailable', null, 'ring_busy', { cause: err, headers: { 'retry-after': '1' } });
  if (err instanceof RetriesExhaustedError) return new ApiError(503, msg, 'service_unavailable', null, 'ring_failed', { cause: err });
  // The ring took longer than the request's token deadline (docs/ring.md, "Deadlines").
  if (err instanceof RingTimeoutError) return new ApiError(504, msg, 'server_error', null, 'ring_timeout', { cause: err });
  // Not retried here: this peer is going away (docs/api.md, "Errors").
  if (err instanceof ServerShuttingDownError) return new ApiError(503, err.message, 'service_unavailable', null, 'server_shutting_down', { cause: err });
  if (err instanceof DeadlineExceededError) return new ApiError(504, msg, 'server_error', null, 'timeout', { cause: err });
  return new ApiError(500, `Internal error: ${msg}`, 'server_error', null, 'internal_error', { cause: err });
}
