// Rooms: relay, isolation, spoofing, epochs, the plan hook, eviction, resume and join tokens.
import { afterEach, describe, expect, it } from 'vitest';
import { CLOSE_CODES } from '../../../shared/signaling/close-codes.ts';
import type { SignalingServerOptions } from '../../../signaling/options.ts';
import { mintJoinToken } from '../../../signaling/join-token.ts';
import { createSignalingServer, type SignalingServer } from '../../../signaling/server.ts';
import { CAPS, rawClient, type RawClient } from './helpers.ts';

let server: SignalingServer | undefined;
const clients: RawClient[] = [];
async function start(options: Partial<SignalingServerOptions> = {}): Promise<SignalingServer> {
  server = await createSignalingServer({ port: 0, announceDelayMs: 5, ...options });
  return server;
}
async function connect(url: string, options?: Parameters<typeof rawClient>[1]): Promise<RawClient> {
  const c = await rawClient(url, options);
  clients.push(c);
  return c;
}
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server?.close();
  server = undefined;
});

/** Round-trips a heartbeat: every frame the server sent to `c` before it is now in c's queue. */
async function sync(c: RawClient): Promise<void> {
  c.send({ type: 'heartbeat', nonce: 424242 });
  await c.next('pong', (m) => m.nonce === 424242);
}

describe('signaling rooms', () => {
  it('relays signals within a room with the sender id set by the server', async () => {
    const { url } = await start();
    const a = await connect(url);
    const b = await connect(url);
    const wa = await a.hello('r');
    const wb = await b.hello('r');
    expect(wb.members.map((m) => m.peerId).sort()).toEqual([wa.peerId, wb.peerId].sort());
    // "from" in the frame is stripped: the relayed frame names the real sender.
    a.send({ type: 'signal', to: wb.peerId, from: 'mallory', data: { sdp: 'offer' } });
    expect(await b.next('signal')).toEqual({ type: 'signal', from: wa.peerId, data: { sdp: 'offer' } });
  });

  it('refuses a signal to a peer of another room (room isolation)', async () => {
    const { url } = await start();
    const a = await connect(url);
    const b = await connect(url);
    await a.hello('room-a');
    const wb = await b.hello('room-b');
    a.send({ type: 'signal', to: wb.peerId, data: 'hi' });
    expect(await a.next('error')).toMatchObject({ code: 'unknown-peer', field: 'to' });
    // The relay would have been written to b before a's error; after a sync b has none.
    await sync(b);
    const early = await Promise.race([b.next('signal'), Promise.resolve('none')]);
    expect(early).toBe('none');
  });

  it('ignores a client-chosen id and a forged resume token', async () => {
    const { url } = await start();
    const a = await connect(url);
    const wa = await a.hello('r');
    const b = await connect(url);
    const wb = await b.hello('r', { peerId: wa.peerId, resume: { peerId: wa.peerId, token: 'forged' } });
    expect(wb.peerId).not.toBe(wa.peerId);
    expect(wb.resumed).toBe(false);
    await sync(a); // a still holds its id and its connection
  });

  it('bumps the epoch on every change and broadcasts the plan', async () => {
    const calls: Array<{ epoch: number; members: string[] }> = [];
    const { url } = await start({
      plan: (_room, members, epoch) => {
        calls.push({ epoch, members: members.map((m) => m.peerId) });
        return { ring: members.map((m) => m.peerId), epoch };
      },
    });
    const a = await connect(url);
    const wa = await a.hello('r');
    expect(wa.epoch).toBe(1);
    expect(await a.next('plan')).toEqual({ type: 'plan', epoch: 1, plan: { ring: [wa.peerId], epoch: 1 } });
    const b = await connect(url);
    const wb = await b.hello('r');
    expect(wb.epoch).toBe(2);
    expect(await a.next('peer-joined', (m) => m.epoch === 2)).toMatchObject({ epoch: 2, memberCount: 2, peers: [{ peerId: wb.peerId, capabilities: CAPS }] });
    expect(await a.next('plan')).toEqual({ type: 'plan', epoch: 2, plan: { ring: [wa.peerId, wb.peerId], epoch: 2 } });
    expect(await b.next('plan', (p) => p.epoch === 2)).toBeTruthy();
    b.send({ type: 'leave' });
    expect((await b.closed).code).toBe(CLOSE_CODES.normal);
    expect(await a.next('peer-left')).toEqual({ type: 'peer-left', epoch: 3, peerIds: [wb.peerId], memberCount: 1 });
    expect(await a.next('plan', (p) => p.epoch === 3)).toMatchObject({ plan: { ring: [wa.peerId] } });
    expect(calls.map((c) => c.epoch)).toEqual([1, 2, 3]);
  });

  it('relays reports to the room and hands them to the planner', async () => {
    const seen: unknown[] = [];
    const { url } = await start({ plan: (_r, members) => void seen.push(members.map((m) => Object.fromEntries(m.reports))) });
    const a = await connect(url);
    const b = await connect(url);
    const wa = await a.hello('r');
    const wb = await b.hello('r');
    // A join and a leave inside one announce window coalesce to nothing: let a see b first.
    await a.next('peer-joined', (m) => m.peers.some((p) => p.peerId === wb.peerId));
    a.send({ type: 'report', epoch: 2, kind: 'ready', data: { layers: [0, 4] } });
    expect(await b.next('report')).toEqual({ type: 'report', from: wa.peerId, epoch: 2, kind: 'ready', data: { layers: [0, 4] } });
    // The next membership change runs the planner, which sees a's latest report.
    b.send({ type: 'leave' });
    await a.next('peer-left');
    expect(seen.at(-1)).toEqual([{ ready: { epoch: 2, data: { layers: [0, 4] } } }]);
  });

  it('evicts a peer that stops answering heartbeats', async () => {
    const { url } = await start({ heartbeatIntervalMs: 200 });
    const watcher = await connect(url);
    await watcher.hello('r');
    const dead = await connect(url, { autoPong: false });
    const wd = await dead.hello('r');
    // The watcher answers pings (ws does so itself) and stays; the silent one is cut.
    expect(await watcher.next('peer-left')).toMatchObject({ peerIds: [wd.peerId] });
    expect((await dead.closed).code).toBe(1006);
    const metrics = await (await server!.handleHttp(new Request('http://x/metrics'))).text();
    expect(metrics).toMatch(/ringmesh_signal_evictions_total 1/);
  });

  it('lets a peer resume its id and closes the stale connection (4409)', async () => {
    const { url } = await start();
    const a = await connect(url);
    const wa = await a.hello('r');
    const again = await connect(url);
    const w2 = await again.hello('r', { resume: { peerId: wa.peerId, token: wa.resumeToken } });
    expect(w2).toMatchObject({ peerId: wa.peerId, resumed: true });
    expect((await a.closed).code).toBe(CLOSE_CODES.replaced);
    expect(server!.stats().peers).toBe(1);
    // A resume token is bound to its room.
    const other = await connect(url);
    expect(await other.hello('elsewhere', { resume: { peerId: wa.peerId, token: wa.resumeToken } })).toMatchObject({ resumed: false });
  });

  it('samples the member list of a room above the full-membership limit', async () => {
    const { url } = await start({ fullMembershipLimit: 2, welcomeSampleSize: 2 });
    const peers = [];
    for (let i = 0; i < 4; i++) {
      const c = await connect(url);
      peers.push(await c.hello('big'));
    }
    const last = peers[3]!;
    expect(last).toMatchObject({ memberCount: 4, complete: false });
    expect(last.members).toHaveLength(2);
    expect(last.members.map((m) => m.peerId)).toContain(last.peerId);
  });
});

describe('signaling join tokens', () => {
  const secret = 'integration-secret';

  it('admits a valid token and refuses missing, expired, wrong-room and badly signed ones (4001)', async () => {
    const { url } = await start({ tokenSecret: secret });
    const ok = await connect(url);
    expect(await ok.hello('r', { token: mintJoinToken({ secret, room: 'r' }) })).toMatchObject({ type: 'welcome' });
    const cases: Array<[string, Record<string, unknown>]> = [
      ['JoinTokenMissingError', {}],
      ['JoinTokenExpiredError', { token: mintJoinToken({ secret, room: 'r', ttlSeconds: 10, now: Date.now() - 60_000 }) }],
      ['JoinTokenRoomError', { token: mintJoinToken({ secret, room: 'other' }) }],
      ['JoinTokenSignatureError', { token: mintJoinToken({ secret: 'wrong', room: 'r' }) }],
    ];
    for (const [reason, extra] of cases) {
      const c = await connect(url);
      c.send({ type: 'hello', v: 1, room: 'r', capabilities: CAPS, ...extra });
      expect(await c.next('error')).toMatchObject({ code: 'unauthorized', field: 'token' });
      expect(await c.closed).toEqual({ code: CLOSE_CODES.unauthorized, reason });
    }
  });

  it('refuses a browser origin outside the allow-list', async () => {
    const { url } = await start({ allowOrigins: ['https://ok.example'] });
    await expect(rawClient(url, { origin: 'https://evil.example' })).rejects.toThrow(/403/);
    const ok = await connect(url, { origin: 'https://ok.example' });
    await ok.hello('r');
  });
});
