/**
 * The plain-HTTP side of the signaling server as `(Request) => Promise<Response>`, testable
 * without a socket: /healthz, /metrics, and the static folder at / (the page, and model packages
 * under /models/, streamed with Range support). `/signal` is the WebSocket
 * upgrade, handled by the server; a plain GET there gets 426.
 */
import type { Registry } from 'prom-client';
import { htmlPage, serveStatic } from './static-files.ts';

export interface HttpHandlerOptions {
  readonly staticDir: string;
  readonly registry: Registry;
  readonly health: () => Record<string, unknown>;
}

export type HttpHandler = (request: Request) => Promise<Response>;

export function createHttpHandler(options: HttpHandlerOptions): HttpHandler {
  return async (request) => {
    const { pathname } = new URL(request.url);
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return new Response('method not allowed\n', { status: 405, headers: { allow: 'GET, HEAD' } });
    }
    switch (pathname) {
      case '/healthz':
        return Response.json({ status: 'ok', ...options.health() });
      case '/metrics':
        return new Response(await options.registry.metrics(), { headers: { 'content-type': options.registry.contentType } });
      case '/signal':
        return htmlPage(426, 'Upgrade required', 'Open /signal as a WebSocket.');
      default:
        return serveStatic(options.staticDir, pathname, {
          head: request.method === 'HEAD',
          range: request.headers.get('range'),
          ifRange: request.headers.get('if-range'),
        });
    }
  };
}
