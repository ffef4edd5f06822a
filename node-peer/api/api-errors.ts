import { RingmeshError } from '../../shared/errors.ts';

/** OpenAI's error `type` values this API uses. */
export type ApiErrorType = 'invalid_request_error' | 'authentication_error' | 'not_found_error' | 'server_error' | 'service_unavailable';

/**
 * An HTTP API failure that carries its own HTTP mapping (status + OpenAI error shape), so the
 * one catch at the handler's edge turns it into `{error: {message, type, param, code}}`.
 */
export class ApiError extends RingmeshError {
  constructor(
    readonly status: number,
    message: string,
    readonly type: ApiErrorType,
    readonly param: string | null = null,
    readonly code: string | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  toBody(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const badRequest = (message: string, param: string | null = null, code: string | null = null): ApiError =>
  new ApiError(400, message, 'invalid_request_error', param, code);
