/**
 * `createSignalingServer(options)`: one HTTP server carrying the WebSocket endpoint `/signal`,
 * `/healthz`, `/metrics` and the built page at `/`. A value with no module state, so a test can
 * run several side by side. No client input can crash it: every frame goes through the codec,
 * oversize frames are cut by `ws`, and every socket has an error listener.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable, type Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { CLOSE_CODES } from '../shared/signaling/close-codes.ts';
import { AddressLimits, addressKey, normalizeAddress } from './address-limits.ts';
import { createHttpHandler, type HttpHandler } from './http-handler.ts';
import { DEFAULT_MEMORY_CAPS } from './member-claims.ts';
import { createSignalingMetrics } from './metrics.ts';
import { DEFAULT_LIMITS, type SignalingServerOptions } from './options.ts';
import { ClientConnection, type ClientAddress } from './client-connection.ts';
import { createResumeTokens } from './resume-token.ts';
import { RoomBans } from './room-bans.ts';
import { RoomRegistry } from './room-registry.ts';

export interface SignalingServer {
  /** `ws://host:port/signal`. */
  readonly url: string;
  /** `http://host:port/` (page, /healthz, /metrics). */
  readonly httpUrl: string;
  readonly port: number;
  /** The HTTP routes as a function, for tests that need no socket. */
  readonly handleHttp: HttpHandler;
  stats(): { connections: number; peers: number; rooms: number };
  /**
   * Graceful shutdown: refuses new connections, closes every socket with 1012 (clients reconnect
   * with backoff) after what was queued for it, waits up to `shutdownTimeoutMs`, then cuts the rest.
   */
  close(): Promise<void>;
}

const DEFAULT_STATIC_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'web');

export async function createSignalingServer(options: SignalingServerOptions): Promise<SignalingServer> {
  const host = options.host ?? '127.0.0.1';
  const log = options.log ?? pino({ level: 'silent' });
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const now = options.now ?? Date.now;
  const connections = new Map<WebSocket, ClientConnection>();
  const registry = new RoomRegistry({
    maxRooms: limits.maxRooms,
    maxPeersPerRoom: limits.maxPeersPerRoom,
    fullMembershipLimit: options.fullMembershipLimit ?? 1_000,
    welcomeSampleSize: options.welcomeSampleSize ?? 64,
    announceDelayMs: options.announceDelayMs ?? 20,
    random: options.random ?? Math.random,
    log,
    ...(options.plan ? { plan: options.plan } : {}),
    ...(options.replanOnReports ? { replanOnReports: options.replanOnReports } : {}),
  });
  const stats = () => ({ connections: connections.size, peers: registry.peerCount, rooms: registry.roomCount });
  const metrics = createSignalingMetrics({ connections: () => connections.size, peers: () => registry.peerCount, rooms: () => registry.roomCount });
  const startedAt = now();
  const handleHttp = createHttpHandler({
    staticDir: options.staticDir ?? DEFAULT_STATIC_DIR,
    registry: metrics.registry,
    health: () => ({ ...stats(), uptimeSeconds: Math.round((now() - startedAt) / 1000) }),
  });
  const context = {
    registry,
    limits,
    resumeTokens: createResumeTokens(options.resumeSecret),
    tokenSecret: options.tokenSecret,
    metrics,
    log,
    now,
    helloTimeoutMs: options.helloTimeoutMs ?? 10_000,
    addressLimits: new AddressLimits(limits),
    memoryCaps: { ...DEFAULT_MEMORY_CAPS, ...options.memoryCaps },
    openRole: options.openRole ?? 'contributor',
    roomModels: options.roomModels,
    reportKinds: options.reportKinds,
    bans: new RoomBans(),
  };
  const allowOrigins = options.allowOrigins ? new Set(options.allowOrigins) : undefined;
  // Frames up to the manifest limit reach the connection, which lets only a `model` report past
  // maxMessageBytes (client-connection.ts).
  const maxPayload = Math.max(limits.maxMessageBytes, limits.maxManifestBytes + MODEL_FRAME_OVERHEAD_BYTES);
  const wss = new WebSocketServer({ noServer: true, maxPayload, perMessageDeflate: false });

  let closing: Promise<void> | undefined;
  const http = createServer((req, res) => void respond(handleHttp, req, res, log));
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy()); // a reset during the handshake is not our problem
    const refuse = (status: number, reason: string): void => {
      metrics.upgradesRejected.inc({ reason });
      socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (pathnameOf(req.url) !== '/signal') return refuse(404, 'Not Found');
    const origin = req.headers.origin;
    if (allowOrigins && origin !== undefined && !allowOrigins.has(origin)) return refuse(403, 'Forbidden');
    if (closing || connections.size >= limits.maxConnections) return refuse(503, 'Service Unavailable');
    const client = clientAddress(req, options.trustProxy === true);
    try {
      wss.handleUpgrade(req, socket, head, (ws) => {
        if (!context.addressLimits.openConnection(client.key)) {
          // Told over the socket (a page cannot read an HTTP status), then closed: it holds no slot.
          metrics.upgradesRejected.inc({ reason: 'address-limit' });
          ws.on('error', () => undefined);
          ws.close(CLOSE_CODES.addressLimit, 'too many connections from this address');
          return;
        }
        connections.set(ws, new ClientConnection(ws, context, client));
        ws.on('close', () => {
          connections.delete(ws);
          context.addressLimits.closeConnection(client.key);
        });
      });
    } catch (err) {
      // The upgrade edge: whatever a client's handshake triggers costs that socket only.
      log.warn({ err }, 'upgrade failed');
      socket.destroy();
    }
  });
  http.on('clientError', (_err, socket) => socket.destroy());

  // Liveness sweep (y-webrtc style): ping everyone; whoever showed no sign of life since the
  // previous sweep is dead (browsers answer protocol pings by themselves).
  const sweep = setInterval(() => {
    for (const [ws, conn] of connections) {
      if (!conn.alive) {
        conn.evict('no pong since the last sweep');
        continue;
      }
      conn.alive = false;
      ws.ping();
    }
  }, options.heartbeatIntervalMs ?? 15_000);

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  log.info({ host, port }, 'signaling server listening');

  const close = (): Promise<void> =>
    (closing ??= (async () => {
      clearInterval(sweep);
      const httpClosed = new Promise<void>((resolve) => http.close(() => resolve()));
      const socketsClosed = [...connections.keys()].map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === ws.CLOSED) return resolve();
            ws.once('close', () => resolve());
          }),
      );
      for (const conn of connections.values()) conn.close(CLOSE_CODES.serviceRestart, 'server restarting');
      registry.close();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, options.shutdownTimeoutMs ?? 2_000)));
      await Promise.race([Promise.all(socketsClosed), timedOut]);
      clearTimeout(timer);
      for (const ws of connections.keys()) ws.terminate();
      wss.close();
      http.closeAllConnections();
      await httpClosed;
      log.info({ port }, 'signaling server closed');
    })());

  return { url: `ws://${hostPart}:${port}/signal`, httpUrl: `http://${hostPart}:${port}/`, port, handleHttp, stats, close };
}

/** Room for the JSON around a `model` report's manifest (type, epoch, kind, modelId, contextTokens). */
const MODEL_FRAME_OVERHEAD_BYTES = 4 * 1024;

/**
 * The client's address: the socket's, or behind a trusted reverse proxy the last `X-Forwarded-For`
 * entry (the one the proxy appended; earlier ones are the client's to forge).
 */
function clientAddress(req: IncomingMessage, trustProxy: boolean): ClientAddress {
  let address = req.socket.remoteAddress ?? 'unknown';
  const forwarded = req.headers['x-forwarded-for'];
  if (trustProxy && forwarded !== undefined) {
    const last = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded).split(',').at(-1)?.trim();
    if (last) address = last.slice(0, 64);
  }
  const normalized = normalizeAddress(address);
  return { address: normalized, key: addressKey(normalized) };
}

/** The path of a request target; undefined when it does not parse (`GET http://[ HTTP/1.1`). */
function pathnameOf(target: string | undefined): string | undefined {
  try {
    return new URL(target ?? '/', 'http://localhost').pathname;
  } catch {
    // A malformed request target comes from the client: refuse it, never throw from the handler.
    return undefined;
  }
}

/**
 * Adapts node:http to the fetch-style handler. Bodies are piped with backpressure (a model file
 * is never held whole); when the client goes away mid-body the pipeline cancels the body, which
 * closes the file it was reading.
 */
async function respond(handle: HttpHandler, req: IncomingMessage, res: ServerResponse, log: pino.Logger): Promise<void> {
  let response: Response | undefined;
  try {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === 'string') headers.set(name, value);
    }
    response = await handle(new Request(url, { method: req.method ?? 'GET', headers }));
    res.writeHead(response.status, Object.fromEntries(response.headers));
  } catch (err) {
    // The edge: whatever went wrong, answer 500 instead of leaving the socket hanging.
    log.error({ err, url: req.url }, 'http handler failed');
    void response?.body?.cancel().catch(() => undefined); // closes a file it may hold
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('internal error\n');
    return;
  }
  const body = response.body;
  if (body === null || req.method === 'HEAD') {
    await body?.cancel().catch(() => undefined);
    res.end();
    return;
  }
  try {
    await pipeline(Readable.fromWeb(body as WebReadableStream<Uint8Array>), res);
  } catch (err) {
    // A client that disconnected is routine; a body that failed (a file that shrank) is logged.
    // Either way the status line is gone, so the connection is cut for the client to notice.
    if (!req.socket.destroyed && !isPrematureClose(err)) log.warn({ err, url: req.url }, 'http body failed');
    res.destroy();
  }
}

function isPrematureClose(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ERR_STREAM_PREMATURE_CLOSE';
}
