// Who may call the API, decided from the request's headers alone (docs/api.md "Access"):
// the Host it was sent to, the web Origin it comes from, and its bearer key.
import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiError } from './api-errors.ts';
import { createHostPolicy } from './host-policy.ts';

export interface ApiGuardOptions {
  /** When set, every request (every endpoint) needs `Authorization: Bearer <apiKey>`. */
  readonly apiKey?: string;
  /** Web origins (`scheme://host[:port]`) allowed to call from a browser; none by default. */
  readonly corsOrigins?: readonly string[];
  /** The address the server listens on (default 127.0.0.1), for the Host check. */
  readonly bindHost?: string;
  /** Further names clients reach the server by (`--api-public-host`). */
  readonly publicHosts?: readonly string[];
}

export interface ApiGuard {
  /**
   * Why `request` is refused, or null: a foreign Host 421, a foreign Origin 403, a missing or
   * wrong key 401. A preflight (OPTIONS) carries no key, so it is checked for Host and Origin only.
   */
  refuse(request: Request): ApiError | null;
  /** The CORS response headers for `request`: only for an allowed Origin. */
  cors(request: Request): Record<string, string>;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export function createApiGuard(o: ApiGuardOptions): ApiGuard {
  const hostOk = createHostPolicy(o.bindHost ?? '127.0.0.1', o.publicHosts);
  const origins = new Set(o.corsOrigins ?? []);
  // Equal-length digests compared in constant time: neither the key's bytes nor its length leak.
  const keyDigest = o.apiKey === undefined ? null : digest(o.apiKey);

  const keyOk = (authorization: string | null): boolean => {
    if (keyDigest === null) return true;
    const m = authorization === null ? null : /^Bearer[ \t]+(.+)$/i.exec(authorization.trim());
    return timingSafeEqual(digest(m?.[1] ?? ''), keyDigest) && m !== null;
  };

  return {
    refuse(request) {
      const host = request.headers.get('host');
      if (!hostOk(host)) {
        return new ApiError(
          421,
          `This API does not answer to the host name '${host ?? ''}' (DNS-rebinding defence; add it with --api-public-host)`,
          'invalid_request_error',
          null,
          'misdirected_host',
        );
      }
      const origin = request.headers.get('origin');
      if (origin !== null && !origins.has(origin)) {
        return new ApiError(
          403,
          `Requests from the web origin '${origin}' are not allowed (allow it with --cors-origin)`,
          'permission_error',
          null,
          'origin_not_allowed',
        );
      }
      if (request.method !== 'OPTIONS' && !keyOk(request.headers.get('authorization'))) {
        return new ApiError(401, 'Missing or wrong API key: send Authorization: Bearer <key>', 'authentication_error', null, 'invalid_api_key');
      }
      return null;
    },
    cors(request): Record<string, string> {
      const origin = request.headers.get('origin');
      if (origin === null || !origins.has(origin)) return {};
      return {
        'access-control-allow-origin': origin,
        'access-control-allow-methods': 'GET, POST, OPTIONS',
        'access-control-allow-headers': request.headers.get('access-control-request-headers') ?? 'authorization, content-type',
        'access-control-max-age': '86400',
        vary: 'origin',
      };
    },
  };
}
