// Shared by the signaling integration tests: a raw `ws` client that queues parsed frames and
// lets a test await the next frame matching a predicate (no sleeps).
import { afterEach } from 'vitest';
import WebSocket from 'ws';
import type { Capabilities, ServerMessage } from '../../../shared/signaling/protocol.ts';
import { PROTOCOL_VERSION } from '../../../shared/signaling/protocol.ts';
import type { SignalingServerOptions } from '../../../signaling/options.ts';
import { createSignalingServer, type SignalingServer } from '../../../signaling/server.ts';

export const CAPS: Capabilities = { kind: 'node', engine: 'cpu', memoryBytes: 1 << 30, modelsHeld: [], modelsWanted: [] };

export interface RawClient {
  readonly ws: WebSocket;
  send(message: unknown): void;
  sendText(text: string): void;
  /** Resolves with the next frame (already received or future) for which `match` holds. */
  next<T extends ServerMessage['type']>(type: T, match?: (m: Extract<ServerMessage, { type: T }>) => boolean): Promise<Extract<ServerMessage, { type: T }>>;
  /** Resolves with the close code and reason. */
  closed: Promise<{ code: number; reason: string }>;
  hello(room: string, extra?: Record<string, unknown>): Promise<Extract<ServerMessage, { type: 'welcome' }>>;
  close(): void;
}

export async function rawClient(url: string, options: WebSocket.ClientOptions = {}): Promise<RawClient> {
  const ws = new WebSocket(url, options);
  const queue: ServerMessage[] = [];
  const waiters: Array<{ test: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }> = [];
  ws.on('message', (data) => {
    const message = JSON.parse(String(data)) as ServerMessage;
    const i = waiters.findIndex((w) => w.test(message));
    if (i >= 0) waiters.splice(i, 1)[0]?.resolve(message);
    else queue.push(message);
  });
  ws.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once('error', reject);
  });
  const client: RawClient = {
    ws,
    closed,
    send: (message) => ws.send(JSON.stringify(message)),
    sendText: (text) => ws.send(text),
    next(type, match) {
      const test = (m: ServerMessage): boolean => m.type === type && (!match || match(m as never));
      const i = queue.findIndex(test);
      if (i >= 0) return Promise.resolve(queue.splice(i, 1)[0] as never);
      return new Promise((resolve) => waiters.push({ test, resolve: resolve as (m: ServerMessage) => void }));
    },
    hello(room, extra = {}) {
      client.send({ type: 'hello', v: PROTOCOL_VERSION, room, capabilities: CAPS, ...extra });
      return client.next('welcome');
    },
    close: () => ws.terminate(),
  };
  return client;
}

/**
 * A signaling server per test and the raw clients it connected, all closed after each test:
 * `start(options)` creates the server (port 0, 5 ms announcements unless overridden).
 */
export function serverPerTest(): {
  start(options?: Partial<SignalingServerOptions>): Promise<SignalingServer>;
  connect(url: string, options?: WebSocket.ClientOptions): Promise<RawClient>;
} {
  const servers: SignalingServer[] = [];
  const clients: RawClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const s of servers.splice(0)) await s.close();
  });
  return {
    async start(options = {}) {
      const server = await createSignalingServer({ port: 0, announceDelayMs: 5, ...options });
      servers.push(server);
      return server;
    },
    async connect(url, options) {
      const c = await rawClient(url, options);
      clients.push(c);
      return c;
    },
  };
}
