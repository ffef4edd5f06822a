// The SignalingClient against real servers: restart on the same port, resume, process exit.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { asRoomId } from '../../../shared/ids.ts';
import type { SignalingClient } from '../../../shared/signaling/signaling-client.ts';
import type { WelcomeMessage } from '../../../shared/signaling/protocol.ts';
import { createSignalingClient } from '../../../shared/signaling/websocket-signaling-client.ts';
import { createSignalingServer, type SignalingServer } from '../../../signaling/server.ts';
import { CAPS } from './helpers.ts';

const here = dirname(fileURLToPath(import.meta.url));
const servers: SignalingServer[] = [];
const clients: SignalingClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(port: number, resumeSecret: string): Promise<SignalingServer> {
  const s = await createSignalingServer({ port, resumeSecret, announceDelayMs: 5 });
  servers.push(s);
  return s;
}
function client(url: string): SignalingClient {
  const c = createSignalingClient({ url, WebSocket, room: asRoomId('swarm'), capabilities: CAPS, backoff: { baseMs: 50, maxMs: 400 } });
  clients.push(c);
  return c;
}
const nextWelcome = (c: SignalingClient): Promise<WelcomeMessage> =>
  new Promise((resolve) => {
    const off = c.on('welcome', (w) => {
      off();
      resolve(w);
    });
  });

describe('SignalingClient reconnect', () => {
  it('re-registers with the same ids after a restart on the same port', async () => {
    const first = await serve(0, 'secret-1');
    const a = client(first.url);
    const b = client(first.url);
    const [wa, wb] = await Promise.all([a.connect(), b.connect()]);
    const restarted = [nextWelcome(a), nextWelcome(b)];
    const states: string[] = [];
    a.on('state', (s) => states.push(`${s.state}:${s.code ?? ''}`));
    await first.close();
    servers.splice(servers.indexOf(first), 1);
    const second = await serve(first.port, 'secret-1');
    const [ra, rb] = await Promise.all(restarted);
    expect(ra).toMatchObject({ peerId: wa.peerId, resumed: true });
    expect(rb).toMatchObject({ peerId: wb.peerId, resumed: true });
    expect(states[0]).toBe('reconnecting:1012');
    expect(states.at(-1)).toBe('joined:');
    expect(second.stats().peers).toBe(2);
    // Signalling works again between the re-registered peers.
    const got = new Promise<unknown>((resolve) => b.on('signal', (s) => resolve(s)));
    a.sendSignal(wb.peerId, { candidate: 'c1' });
    expect(await got).toEqual({ from: wa.peerId, data: { candidate: 'c1' } });
  });

  it('gets new ids from a restarted server with another resume secret', async () => {
    const first = await serve(0, 'secret-1');
    const a = client(first.url);
    const wa = await a.connect();
    const restarted = nextWelcome(a);
    await first.close();
    servers.splice(servers.indexOf(first), 1);
    await serve(first.port, 'secret-2');
    const ra = await restarted;
    expect(ra.resumed).toBe(false);
    expect(ra.peerId).not.toBe(wa.peerId);
    expect(a.peerId).toBe(ra.peerId);
  });

  it('lets a Node process exit on its own after close()', async () => {
    const server = await serve(0, 'x');
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'client-then-exit.ts'), server.url], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += String(d)));
    child.stderr.on('data', (d: Buffer) => (out += String(d)));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, out).toBe(0);
    expect(out.trim()).toMatch(/^[\w-]{16}$/);
  });
});
