import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import type { ApiHandler } from './openai-handler.ts';

export interface ApiServerOptions {
  readonly handler: ApiHandler;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Called once per request that failed below the handler (socket errors). */
  readonly onError?: (err: unknown) => void;
}

export interface ApiServer {
  /** `http://host:port` */
  readonly url: string;
  readonly port: number;
  /** Open requests (a streaming completion counts until its last event). */
  readonly openRequests: number;
  /** Cancels open requests (their generations end, freeing the ring's caches), then closes. */
  close(): Promise<void>;
}

/**
 * Serves an `ApiHandler` on node:http. A client that disconnects aborts its Request's signal and
 * cancels the response body, which cancels the generation behind it.
 */
export async function startApiServer(o: ApiServerOptions): Promise<ApiServer> {
  const host = o.host ?? '127.0.0.1';
  const open = new Set<AbortController>();
  const server = createServer((req, res) => {
    const abort = new AbortController();
    open.add(abort);
    res.on('close', () => {
      open.delete(abort);
      if (!res.writableFinished) abort.abort(new Error('client disconnected'));
    });
    serve(o.handler, req, res, abort.signal).catch((err: unknown) => {
      // The socket's edge: the handler maps its own errors, so this is a broken connection.
      o.onError?.(err);
      res.destroy();
    });
  });
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
      for (const a of open) a.abort(new Error('server shutting down'));
      const closed = once(server, 'close');
      server.close();
      server.closeIdleConnections();
      // Streams end as their generations see the abort; force whatever is left after a grace period.
      const timer = setTimeout(() => server.closeAllConnections(), 2000);
      await closed;
      clearTimeout(timer);
    },
  };
}

async function serve(handler: ApiHandler, req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (Array.isArray(v)) for (const x of v) headers.append(k, x);
    else if (v !== undefined) headers.set(k, v);
  }
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS';
  const request = new Request(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`, {
    method: req.method ?? 'GET',
    headers,
    signal,
    ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: 'half' } : {}),
  } as RequestInit);
  const response = await handler(request);
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (response.body === null || req.method === 'HEAD') {
    res.end();
    return;
  }
  res.flushHeaders();
  const reader = response.body.getReader();
  const stop = (): void => void reader.cancel().catch(() => undefined); // already errored: nothing to cancel
  signal.addEventListener('abort', stop, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
      if (signal.aborted) return;
    }
    res.end();
  } finally {
    signal.removeEventListener('abort', stop);
  }
}
