// One address opens 1 000 sockets (and tries many rooms): it gets at most its per-address share of
// connections and rooms; an honest peer from another address still joins; memory stays bounded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CLOSE_CODES } from '../../shared/signaling/close-codes.ts';
import { rawClient, type RawClient } from '../integration/signaling/helpers.ts';
import { startServerProcess, type ServerProcess } from './signaling-process-helper.ts';

const SOCKETS = 1_000;
/** The server default: 64 sockets per client address, 8 rooms. */
const PER_ADDRESS = 64;
/** 1 000 half-open handshakes refused and 64 idle sockets: growth allowed 64 MiB. */
const RSS_BOUND_BYTES = 64 * 1024 * 1024;

let server: ServerProcess;
const sockets: WebSocket[] = [];
const clients: RawClient[] = [];
beforeAll(async () => {
  server = await startServerProcess();
});
afterAll(async () => {
  for (const s of sockets) s.terminate();
  for (const c of clients) c.close();
  await server.stop();
});

/** Opens a socket and resolves with how it ended up: open (still) or the close code it got. */
function squat(): Promise<{ ws: WebSocket; code: number | 'open' }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(server.url);
    sockets.push(ws);
    ws.on('error', () => undefined);
    // Refused sockets are closed right after the handshake; one still open once a heartbeat came back is held.
    ws.on('open', () => {
      ws.send(JSON.stringify({ type: 'heartbeat', nonce: 1 }));
    });
    ws.on('message', () => resolve({ ws, code: 'open' }));
    ws.on('close', (code) => resolve({ ws, code }));
  });
}

describe('1 000 sockets from one address', () => {
  it('are capped per address; an honest peer from another address joins', async () => {
    const rssBefore = server.rss();
    const results: Array<number | 'open'> = [];
    // In waves of 100 so the test's own fds and the server's backlog stay modest.
    for (let wave = 0; wave < SOCKETS / 100; wave++) {
      results.push(...(await Promise.all(Array.from({ length: 100 }, () => squat()))).map((r) => r.code));
    }
    const open = results.filter((r) => r === 'open').length;
    expect(open).toBe(PER_ADDRESS);
    expect(results.filter((r) => r === CLOSE_CODES.addressLimit)).toHaveLength(SOCKETS - PER_ADDRESS);

    // The held sockets cannot take more than 8 rooms between them.
    const held = sockets.filter((s) => s.readyState === WebSocket.OPEN);
    const joins = held.slice(0, 20).map(
      (ws, i) =>
        new Promise<string>((resolve) => {
          ws.on('message', (d: Buffer) => {
            const m = JSON.parse(String(d)) as { type: string; code?: string };
            if (m.type === 'welcome') resolve('welcome');
            if (m.type === 'error') resolve(m.code ?? 'error');
          });
          ws.send(
            JSON.stringify({
              type: 'hello',
              v: 1,
              room: `squat-${i}`,
              capabilities: { kind: 'node', engine: 'cpu', memoryBytes: 1, modelsHeld: [], modelsWanted: [] },
            }),
          );
        }),
    );
    const outcomes = await Promise.all(joins);
    expect(outcomes.filter((o) => o === 'welcome')).toHaveLength(8);
    expect(outcomes.filter((o) => o === 'address-limit')).toHaveLength(12);

    const honest = await rawClient(server.url, { localAddress: '127.0.0.2' });
    clients.push(honest);
    expect(await honest.hello('squat-0')).toMatchObject({ type: 'welcome', memberCount: 2 });
    const own = await rawClient(server.url, { localAddress: '127.0.0.2' });
    clients.push(own);
    expect(await own.hello('honest-room')).toMatchObject({ type: 'welcome', memberCount: 1 });
    expect(server.alive()).toBe(true);
    expect(server.rss() - rssBefore).toBeLessThan(RSS_BOUND_BYTES);
  });
});
