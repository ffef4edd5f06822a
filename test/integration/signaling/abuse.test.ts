// The server against misbehaving clients: schema errors, garbage, floods, oversize frames.
import { connect as tcpConnect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CLOSE_CODES } from '../../../shared/signaling/close-codes.ts';
import { createSignalingServer, type SignalingServer } from '../../../signaling/server.ts';
import type { SignalingServerOptions } from '../../../signaling/options.ts';
import { CAPS, rawClient, type RawClient } from './helpers.ts';

let server: SignalingServer | undefined;
const clients: RawClient[] = [];
async function start(options: Partial<SignalingServerOptions> = {}): Promise<SignalingServer> {
  server = await createSignalingServer({ port: 0, ...options });
  return server;
}
async function connect(url: string): Promise<RawClient> {
  const c = await rawClient(url);
  clients.push(c);
  return c;
}
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server?.close();
  server = undefined;
});

describe('signaling server: invalid frames', () => {
  it('answers an invalid hello with an error naming the field and keeps the connection', async () => {
    const { url } = await start();
    const c = await connect(url);
    c.send({ type: 'hello', v: 1, room: 'r', capabilities: { ...CAPS, memoryBytes: 'lots' } });
    expect(await c.next('error')).toMatchObject({ code: 'invalid-message', field: 'capabilities.memoryBytes' });
    c.send({ type: 'signal', to: 'x', data: 1 });
    expect(await c.next('error')).toMatchObject({ code: 'not-joined' });
    const welcome = await c.hello('r');
    expect(welcome.peerId).toBeTruthy();
    c.send({ type: 'hello', v: 1, room: 'r', capabilities: CAPS });
    expect(await c.next('error')).toMatchObject({ code: 'already-joined' });
  });

  it('refuses another protocol version with close 4400', async () => {
    const { url } = await start();
    const c = await connect(url);
    c.send({ type: 'hello', v: 99, room: 'r', capabilities: CAPS });
    expect(await c.next('error')).toMatchObject({ code: 'unsupported-version', field: 'v' });
    expect((await c.closed).code).toBe(CLOSE_CODES.unsupportedVersion);
  });

  it('closes a client that keeps sending invalid frames (1008)', async () => {
    const { url } = await start({ limits: { maxStrikes: 3 } });
    const c = await connect(url);
    for (let i = 0; i < 10; i++) c.sendText('not json');
    expect(await c.next('error')).toMatchObject({ code: 'bad-json' });
    expect((await c.closed).code).toBe(CLOSE_CODES.policyViolation);
  });

  it('survives garbage, binary and oversize frames and keeps serving others', async () => {
    const { url, httpUrl } = await start({ limits: { maxMessageBytes: 1024 } });
    const good = await connect(url);
    await good.hello('r');
    const bad = await connect(url);
    bad.sendText('{"type":');
    bad.sendText('\u0000\uffff');
    bad.send({ type: 'hello', v: 1, room: 'r', capabilities: null });
    bad.ws.send(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    expect(await bad.next('error', (m) => m.code === 'binary-not-supported')).toBeTruthy();
    bad.sendText('x'.repeat(64 * 1024));
    expect((await bad.closed).code).toBe(CLOSE_CODES.messageTooBig);
    // A client that drops the TCP connection mid-handshake-free chatter.
    const rude = await connect(url);
    rude.ws.terminate();
    await rude.closed;
    good.send({ type: 'heartbeat', nonce: 5 });
    expect(await good.next('pong')).toEqual({ type: 'pong', nonce: 5 });
    const health = await fetch(new URL('/healthz', httpUrl));
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', peers: 1 });
  });
});

/** Writes raw bytes to the HTTP port and resolves when the server has closed the connection. */
function rawTcp(port: number, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1', () => socket.end(bytes));
    let out = '';
    socket.on('data', (d: Buffer) => (out += String(d)));
    socket.on('error', () => resolve(out));
    socket.on('close', () => resolve(out));
  });
}

describe('signaling server: garbage below WebSocket', () => {
  it('answers malformed HTTP and bad upgrades without crashing', async () => {
    const { port, httpUrl } = await start();
    const upgrade = 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n';
    expect(await rawTcp(port, `GET http://[ HTTP/1.1\r\nHost: x\r\n${upgrade}Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`)).toMatch(/^HTTP\/1.1 404/);
    expect(await rawTcp(port, `GET /signal HTTP/1.1\r\nHost: x\r\n${upgrade}Sec-WebSocket-Key: short\r\n\r\n`)).toMatch(/^HTTP\/1.1 400/);
    expect(await rawTcp(port, `GET /elsewhere HTTP/1.1\r\nHost: x\r\n${upgrade}Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`)).toMatch(/^HTTP\/1.1 404/);
    await rawTcp(port, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)));
    await rawTcp(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n');
    expect((await fetch(new URL('/healthz', httpUrl))).status).toBe(200);
  });
});

describe('signaling server: rate limit', () => {
  it('drops frames over the rate with one error, then closes a flooder (4029)', async () => {
    // A frozen server clock: the bucket never refills, so the outcome does not depend on speed.
    const { url } = await start({ now: () => 1_000, limits: { messagesPerSecond: 1, messageBurst: 5, maxStrikes: 10 } });
    const c = await connect(url);
    for (let i = 0; i < 5; i++) c.send({ type: 'heartbeat', nonce: i });
    for (let i = 0; i < 5; i++) expect(await c.next('pong')).toEqual({ type: 'pong', nonce: i });
    for (let i = 0; i < 30; i++) c.send({ type: 'heartbeat', nonce: 100 + i });
    expect(await c.next('error')).toMatchObject({ code: 'rate-limited' });
    expect((await c.closed).code).toBe(CLOSE_CODES.rateLimited);
  });
});

describe('signaling server: slow readers', () => {
  it('cuts a peer that stops reading instead of buffering for it without bound', async () => {
    const { url } = await start({ announceDelayMs: 5, limits: { maxBufferedBytes: 256 * 1024, messagesPerSecond: 100_000, messageBurst: 100_000 } });
    const sender = await connect(url);
    await sender.hello('r');
    const slow = await connect(url);
    const ws = await slow.hello('r');
    await sender.next('peer-joined', (m) => m.peers.some((p) => p.peerId === ws.peerId));
    slow.ws.pause(); // stops reading: the kernel buffers fill, then the server's output buffer grows
    const left = sender.next('peer-left', (m) => m.peerIds.includes(ws.peerId));
    const payload = 'x'.repeat(60_000);
    for (let i = 0; i < 400; i++) sender.send({ type: 'signal', to: ws.peerId, data: payload });
    expect(await left).toMatchObject({ peerIds: [ws.peerId] });
  });
});

describe('signaling server: capacity', () => {
  it('refuses a full room and too many rooms with 1013', async () => {
    const { url } = await start({ limits: { maxPeersPerRoom: 1, maxRooms: 1 } });
    const a = await connect(url);
    await a.hello('r1');
    const b = await connect(url);
    b.send({ type: 'hello', v: 1, room: 'r1', capabilities: CAPS });
    expect(await b.next('error')).toMatchObject({ code: 'room-full', field: 'room' });
    expect((await b.closed).code).toBe(CLOSE_CODES.tryAgainLater);
    const c = await connect(url);
    c.send({ type: 'hello', v: 1, room: 'r2', capabilities: CAPS });
    expect(await c.next('error')).toMatchObject({ code: 'too-many-rooms' });
    expect((await c.closed).code).toBe(CLOSE_CODES.tryAgainLater);
  });

  it('closes a connection that never says hello (4008)', async () => {
    const { url } = await start({ helloTimeoutMs: 50 });
    const c = await connect(url);
    expect((await c.closed).code).toBe(CLOSE_CODES.helloTimeout);
  });
});
