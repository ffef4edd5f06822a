// A hostile member answers a direct-link offer with somebody else's host:port (a service on the
// dialer's machine): the dialer refuses to connect there and falls back to WebRTC. A member naming
// its own address (as the signaling server saw it) is dialed, so the check is what refuses.
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { asPeerId, asRoomId } from '../../shared/ids.ts';
import { createSignalingClient } from '../../shared/signaling/websocket-signaling-client.ts';
import type { SignalingClient } from '../../shared/signaling/signaling-client.ts';
import type { WebSocketConstructor } from '../../shared/signaling/web-socket-like.ts';
import type { PeerTransport } from '../../shared/transport/peer-transport.ts';
import { createNodeTransport } from '../../node-peer/transport/node-transport.ts';
import { CAPS, rawClient, type RawClient } from '../integration/signaling/helpers.ts';
import { waitForMember } from '../util/wait-member.ts';
import { startServerProcess, type ServerProcess } from './signaling-process-helper.ts';

/** One honest transport and two raw members: growth allowed 32 MiB. */
const RSS_BOUND_BYTES = 32 * 1024 * 1024;
const ROOM = 'direct-link-room';

let server: ServerProcess;
let honest: { signaling: SignalingClient; transport: PeerTransport } | undefined;
const clients: RawClient[] = [];
const traps: Server[] = [];
beforeAll(async () => {
  server = await startServerProcess();
});
afterAll(async () => {
  await honest?.transport.close();
  await honest?.signaling.close();
  for (const c of clients) c.close();
  for (const t of traps) t.close();
  await server.stop();
});

/** A TCP server that counts the connections it gets (and the first bytes of each). */
async function trap(host: string): Promise<{ port: number; connections: number[]; firstConnection: Promise<void> }> {
  const connections: number[] = [];
  let first: () => void = () => undefined;
  const firstConnection = new Promise<void>((resolve) => (first = resolve));
  const srv = createServer((s) => {
    connections.push(Date.now());
    first();
    s.on('error', () => undefined);
    s.destroy();
  });
  traps.push(srv);
  await new Promise<void>((resolve) => srv.listen(0, host, resolve));
  const address = srv.address();
  return { port: typeof address === 'object' && address ? address.port : 0, connections, firstConnection };
}

/** A member that makes direct links (says so in hello) and answers every direct offer with `host:port`. */
async function hostileAnswerer(localAddress: string, host: string, port: number): Promise<{ peerId: string }> {
  const c = await rawClient(server.url, { localAddress });
  clients.push(c);
  const w = await c.hello(ROOM, { capabilities: { ...CAPS, directLinks: true } });
  void (async () => {
    for (let i = 0; i < 10; i++) {
      const s = await c.next('signal');
      const env = s.data as { attempt?: string; link?: string };
      if (env.link !== 'tcp' || env.attempt === undefined) continue;
      c.send({
        type: 'signal',
        to: s.from,
        data: { rm: 1, attempt: env.attempt, signal: { type: 'answer', link: 'tcp', host, port, token: 'ab'.repeat(32) } },
      });
    }
  })();
  return { peerId: w.peerId };
}

describe('a direct-link answer naming another host', () => {
  it('is not dialed (WebRTC fallback); an answer naming the member own address is', async () => {
    const rssBefore = server.rss();
    const signaling = createSignalingClient({
      url: server.url,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      room: asRoomId(ROOM),
      capabilities: { ...CAPS, directLinks: true },
    });
    await signaling.connect();
    const transport = createNodeTransport({ signaling, bindAddress: '127.0.0.1', directLinks: true, attemptTimeoutMs: 2_000 });
    honest = { signaling, transport };

    // The victim service: on the dialer's own machine, where the hostile member is not.
    const victim = await trap('127.0.0.1');
    const mallory = await hostileAnswerer('127.0.0.2', '127.0.0.1', victim.port);
    await waitForMember(signaling, asPeerId(mallory.peerId));
    expect(signaling.members.get(asPeerId(mallory.peerId))?.address).toBe('127.0.0.2');
    // Mallory never answers WebRTC, so the dial ends in a timeout after its direct attempt was refused.
    await expect(transport.connect(asPeerId(mallory.peerId), { timeoutMs: 5_000 })).rejects.toThrow();
    expect(victim.connections).toHaveLength(0);

    // Control: the same answer naming the member's own address is dialed.
    const own = await trap('127.0.0.3');
    const self = await hostileAnswerer('127.0.0.3', '127.0.0.3', own.port);
    await waitForMember(signaling, asPeerId(self.peerId));
    const dial = transport.connect(asPeerId(self.peerId), { timeoutMs: 5_000 }).catch(() => undefined);
    await own.firstConnection;
    await dial;
    expect(own.connections.length).toBeGreaterThanOrEqual(1);
    expect(victim.connections).toHaveLength(0);
    expect(server.alive()).toBe(true);
    expect(server.rss() - rssBefore).toBeLessThan(RSS_BOUND_BYTES);
  });
});
