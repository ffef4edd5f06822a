import { RingmeshError } from '../../shared/errors.ts';

/** OpenAI's error `type` values this API uses (`requests` is what OpenAI sends with a 429). */
export type ApiErrorType =
  'invalid_request_error' | 'authentication_error' | 'permission_error' | 'not_found_error' | 'requests' | 'server_error' | 'service_unavailable';

/**
 * An HTTP API failure that carries its own HTTP mapping (status + OpenAI error shape), so the
 * one catch at the handler's edge turns it into `{error: {message, type, param, code}}`.
 */
export class ApiError extends RingmeshError {
  /** Extra response headers (e.g. `retry-after` on a 429). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    readonly status: number,
    message: string,
    readonly type: ApiErrorType,
    readonly param: string | null = null,
    readonly code: string | null = null,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(message, options);
    this.headers = options?.headers ?? {};
  }

  toBody(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }

  toResponse(): Response {
    return Response.json(this.toBody(), { status: this.status, headers: this.headers });
  }
}

export const badRequest = (message: string, param: string | null = null, code: string | null = null): ApiError =>
  new ApiError(400, message, 'invalid_request_error', param, code);

/** The request body is over `--api-max-body` (the rest of it is never buffered: api-server.ts). */
export const bodyTooLarge = (maxBytes: number): ApiError =>
  new ApiError(413, `The request body is larger than this API accepts (${maxBytes} bytes; --api-max-body)`, 'invalid_request_error', null, 'request_too_large');
