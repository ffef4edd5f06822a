import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { ClientDisconnectedError, ServerShuttingDownError } from './abort-reasons.ts';
import { bodyTooLarge, type ApiError } from './api-errors.ts';
import { toApiError } from './error-mapping.ts';
import { limitedBody } from './limited-body.ts';
import type { ApiHandler } from './openai-handler.ts';

/** Default `--api-max-body`: chat histories of long-context models fit many times over. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

/** Socket-level limits (docs/api.md "Limits"); each default suits clients on a LAN or the Internet. */
export interface ApiServerTimeouts {
  /** From the connection (or the previous request) to the last header byte (default 10 s). */
  readonly headersMs?: number;
  /** From the first byte to the last byte of the request body; not the response, so long streams live (default 60 s). */
  readonly requestMs?: number;
  /** An idle keep-alive connection closes after this (default 5 s). */
  readonly keepAliveMs?: number;
  /** How often node checks the two above (default 1 s). */
  readonly checkIntervalMs?: number;
}

export interface ApiServerOptions {
  readonly handler: ApiHandler;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Request bodies over this are refused with 413 (default `DEFAULT_MAX_BODY_BYTES`). */
  readonly maxBodyBytes?: number;
  readonly timeouts?: ApiServerTimeouts;
  /** Called once per request that failed below the handler (socket errors). */
  readonly onError?: (err: unknown) => void;
}

export interface ApiServer {
  /** `http://host:port` */
  readonly url: string;
  readonly port: number;
  /** Open requests (a streaming completion counts until its last event). */
  readonly openRequests: number;
  /**
   * Ends open requests with a 503 `server_shutting_down` (a stream: as its last event, then
   * `[DONE]`; their generations end, freeing the ring's caches), then closes.
   */
  close(): Promise<void>;
}

/**
 * How long a connection refused with 413 reads the rest of the upload into nothing before it is
 * closed. Closing at once would reset a client still writing, often before it read the 413.
 */
const LINGER_MS = 2000;

/** How long `close` waits for open requests to send their last bytes before it drops their connections. */
const CLOSE_GRACE_MS = 2000;

/**
 * Serves an `ApiHandler` on node:http. A client that disconnects aborts its Request's signal and
 * cancels the response body, which cancels the generation behind it. Bodies are capped (413 on
 * Content-Length before reading, or when a chunked body crosses the cap) and slow requests time out.
 */
export async function startApiServer(o: ApiServerOptions): Promise<ApiServer> {
  const host = o.host ?? '127.0.0.1';
  const maxBody = o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const t = o.timeouts ?? {};
  const open = new Set<AbortController>();
  /** Set by `close`: runs when the last open request has ended. */
  let drained: (() => void) | null = null;
  let closing = false;
  const server = createServer(
    {
      headersTimeout: t.headersMs ?? 10_000,
      // node applies it until the request is received, not while the response streams.
      requestTimeout: t.requestMs ?? 60_000,
      keepAliveTimeout: t.keepAliveMs ?? 5000,
      connectionsCheckingInterval: t.checkIntervalMs ?? 1000,
    },
    (req, res) => {
      if (closing) {
        // A keep-alive connection's next request, after `close` began: nothing new starts.
        refuse(req, res, toApiError(new ServerShuttingDownError()), { connection: 'close' });
        return;
      }
      if (Number(req.headers['content-length'] ?? 0) > maxBody) {
        refuse(req, res, bodyTooLarge(maxBody));
        return;
      }
      const abort = new AbortController();
      open.add(abort);
      // A body the handler left unread (a refusal, an unknown endpoint) is discarded, so the
      // connection can carry its next request instead of stalling until the body timeout.
      res.once('finish', () => {
        if (!req.complete) discard(req);
      });
      res.on('close', () => {
        open.delete(abort);
        if (!res.writableFinished) abort.abort(new ClientDisconnectedError());
        if (open.size === 0) drained?.();
      });
      serve(o.handler, req, res, abort.signal, maxBody).catch((err: unknown) => {
        // The socket's edge: the handler maps its own errors, so this is a broken connection.
        o.onError?.(err);
        res.destroy();
      });
    },
  );
  server.listen(o.port, host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err as Error))]);
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    get openRequests() {
      return open.size;
    },
    async close() {
      closing = true;
      const closed = once(server, 'close');
      server.close();
      server.closeIdleConnections();
      // Each open request ends with its 503 (a stream: its error event and [DONE]) as its generation
      // sees the abort; then every connection goes, idle keep-alives included, at the latest after the grace.
      const allEnded = new Promise<void>((resolve) => {
        drained = resolve;
        if (open.size === 0) resolve();
      });
      for (const a of open) a.abort(new ServerShuttingDownError());
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([allEnded, new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)))]);
      clearTimeout(timer);
      server.closeAllConnections();
      await closed;
    },
  };
}

/** An error answered without reading the body (a 413 has no `Connection: close`: node would reset the socket at once, see LINGER_MS). */
function refuse(req: IncomingMessage, res: ServerResponse, err: ApiError, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(err.toBody());
  res.writeHead(err.status, { ...err.headers, ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
  linger(req);
}

/** Reads what the client still sends into nothing. */
function discard(req: IncomingMessage): void {
  req.removeAllListeners('data');
  req.on('data', () => undefined);
  req.resume();
}

/** Discards what the client still sends; closes the socket if the upload has not ended within `LINGER_MS`. */
function linger(req: IncomingMessage): void {
  discard(req);
  const socket = req.socket;
  const timer = setTimeout(() => {
    if (!req.complete) socket.destroy();
  }, LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  req.once('end', () => clearTimeout(timer));
}

async function serve(handler: ApiHandler, req: IncomingMessage, res: ServerResponse, signal: AbortSignal, maxBody: number): Promise<void> {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (Array.isArray(v)) for (const x of v) headers.append(k, x);
    else if (v !== undefined) headers.set(k, v);
  }
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS';
  let overflowed = false;
  // The Host header travels as a header (the handler checks it); the URL's own host is fixed, so a
  // malformed Host cannot break the URL.
  const request = new Request(new URL(req.url ?? '/', 'http://localhost'), {
    method: req.method ?? 'GET',
    headers,
    signal,
    ...(hasBody ? { body: limitedBody(req, maxBody, () => (overflowed = true)), duplex: 'half' } : {}),
  } as RequestInit);
  const response = await handler(request);
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (response.body === null || req.method === 'HEAD') {
    res.end();
    if (overflowed) linger(req);
    return;
  }
  res.flushHeaders();
  const reader = response.body.getReader();
  const stop = (): void => void reader.cancel().catch(() => undefined); // already errored: nothing to cancel
  // A client that left reads nothing more; on a shutdown the body goes on to its error event and end.
  const clientLeft = (): boolean => res.destroyed || (signal.aborted && !(signal.reason instanceof ServerShuttingDownError));
  const onAbort = (): void => {
    if (clientLeft()) stop();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (clientLeft()) return;
      if (done) break;
      if (!res.write(value)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
    }
    finished = true;
    res.end();
    if (overflowed) linger(req);
  } finally {
    signal.removeEventListener('abort', onAbort);
    if (!finished) stop(); // the client left (or the write failed): cancel the generation behind the body
  }
}
