import { OriginHttpError, OriginRangeError, OriginUnavailableError } from './errors.ts';
import type { ByteRange } from './origin.ts';
import { packagePathSegments } from './origin-path.ts';

/** One HTTP attempt, as the platform's client (undici in Node, fetch in browsers) reports it. */
export interface HttpAttempt {
  readonly status: number;
  /** Content-Range header value, if any. */
  readonly contentRange: string | null;
  readonly body: AsyncIterable<Uint8Array>;
  /** Stops reading the body (a 200 to a Range request we only need the head of). */
  cancel(): void;
}

export type HttpGet = (url: string, headers: Record<string, string>, signal?: AbortSignal) => Promise<HttpAttempt>;

export interface RangedReadOptions {
  readonly token?: string;
  /** Attempts in all (default 5). */
  readonly attempts?: number;
  /** First backoff in ms, doubled after each failed attempt (default 200). */
  readonly backoffMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const RETRYABLE = new Set([408, 425, 429, 500, 502, 503, 504]);

/**
 * GETs `url` (optionally a byte range), retrying transient failures with exponential backoff and
 * resuming after a broken body from the first byte not yet received, so a flaky origin still costs
 * each byte about once. 4xx answers other than 408/425/429 fail at once.
 */
export async function readRanged(
  get: HttpGet,
  url: string,
  range: ByteRange | undefined,
  opts: RangedReadOptions = {},
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const attempts = opts.attempts ?? 5;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const chunks: Uint8Array[] = [];
  let received = 0;
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (attempt > 0) await sleep((opts.backoffMs ?? 200) * 2 ** (attempt - 1));
    signal?.throwIfAborted();
    const start = (range?.offset ?? 0) + received;
    const headers: Record<string, string> = {};
    if (range) headers.range = `bytes=${start}-${range.offset + range.length - 1}`;
    else if (received > 0) headers.range = `bytes=${start}-`;
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let res: HttpAttempt;
    try {
      res = await get(url, headers, signal);
    } catch (err) {
      signal?.throwIfAborted();
      lastError = err; // connection refused/reset: transient, retry
      continue;
    }
    if (res.status !== 200 && res.status !== 206) {
      res.cancel();
      const err = new OriginHttpError(url, res.status);
      if (!RETRYABLE.has(res.status)) throw err;
      lastError = err;
      continue;
    }
    // A 200 to a ranged request means the server ignored Range: only usable from byte 0.
    let skip = 0;
    if (res.status === 200 && headers.range) {
      if (start !== 0 && range) skip = start;
      else if (start !== 0) throw new OriginRangeError(url, 'server ignores Range: cannot resume');
    } else if (res.status === 206 && !res.contentRange?.startsWith(`bytes ${start}-`)) {
      res.cancel();
      throw new OriginRangeError(url, `asked bytes ${start}-, got Content-Range ${res.contentRange ?? '(none)'}`);
    }
    const want = range ? range.length : Number.POSITIVE_INFINITY;
    try {
      for await (const chunk of res.body) {
        let c = chunk;
        if (skip > 0) {
          const s = Math.min(skip, c.length);
          skip -= s;
          c = c.subarray(s);
        }
        const take = Math.min(c.length, want - received);
        if (take > 0) {
          // The client hands us each chunk to keep: only a chunk cut short needs its own copy.
          chunks.push(take === c.length ? c : c.slice(0, take));
          received += take;
        }
        if (received >= want) break;
      }
    } catch (err) {
      signal?.throwIfAborted();
      lastError = err; // body broke mid-way: keep what arrived and resume from there
      continue;
    } finally {
      if (received >= want) res.cancel();
    }
    if (range && received < want) {
      lastError = new OriginRangeError(url, `body ended after ${received} of ${want} bytes`);
      continue;
    }
    return concat(chunks, received);
  }
  throw new OriginUnavailableError(url, attempts, { cause: lastError });
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1 && chunks[0]?.length === total) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * `base` + `file`, whatever slashes the user typed (a HF `…/resolve/main` base works as is). Throws
 * `OriginPathError` for a `file` that would leave the base once the URL's dot segments resolve.
 */
export function joinUrl(base: string, file: string): string {
  return `${base.replace(/\/+$/, '')}/${packagePathSegments(file).map(encodeURIComponent).join('/')}`;
}
