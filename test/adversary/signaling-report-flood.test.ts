// Members flooding reports: many kinds, big data, fast. Refused past the caps (nothing stored or
// relayed), closed when they persist; the server's memory stays bounded and honest reports flow.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_CODES } from '../../shared/signaling/close-codes.ts';
import { rawClient, type RawClient } from '../integration/signaling/helpers.ts';
import { startServerProcess, type ServerProcess } from './signaling-process-helper.ts';

const ATTACKERS = 32;
const FRAMES_EACH = 150;
const DATA_BYTES = 60 * 1024;
/**
 * Unbounded, the attack would store ATTACKERS × FRAMES_EACH × 60 KiB ≈ 280 MiB and relay it to
 * every member; with the caps each member holds ≤ 8 kinds × 4 KiB. Growth allowed: 96 MiB (frames
 * in flight and garbage not yet collected).
 */
const RSS_BOUND_BYTES = 96 * 1024 * 1024;

let server: ServerProcess;
const clients: RawClient[] = [];
beforeAll(async () => {
  server = await startServerProcess();
});
afterAll(async () => {
  for (const c of clients) c.close();
  await server.stop();
});

async function connect(localAddress = '127.0.0.1'): Promise<RawClient> {
  const c = await rawClient(server.url, { localAddress });
  clients.push(c);
  return c;
}

describe('a report flood', () => {
  it('is refused and closed; memory stays bounded and honest reports still flow', async () => {
    const a = await connect('127.0.0.2');
    const b = await connect('127.0.0.3');
    const wa = await a.hello('flood-room');
    await b.hello('flood-room');
    let bigFramesAtB = 0;
    b.ws.on('message', (d: Buffer) => {
      if (d.byteLength > 8 * 1024) bigFramesAtB++;
    });
    const rssBefore = server.rss();
    const attackers = await Promise.all(Array.from({ length: ATTACKERS }, () => connect()));
    await Promise.all(attackers.map((c) => c.hello('flood-room')));
    const big = 'x'.repeat(DATA_BYTES);
    for (const c of attackers) {
      for (let i = 0; i < FRAMES_EACH; i++) {
        // Kinds beyond the cap, data beyond the byte cap, and more reports than the report rate.
        const kind = i % 3 === 0 ? `kind-${i}` : 'ready';
        c.send({ type: 'report', epoch: 1, kind, data: i % 2 === 0 ? big : { n: i } });
      }
    }
    const codes = await Promise.all(attackers.map(async (c) => (await c.closed).code));
    expect(codes.every((code) => code === CLOSE_CODES.policyViolation || code === CLOSE_CODES.rateLimited)).toBe(true);
    const refused = await attackers[0]!.next('error', (m) => m.code === 'report-refused');
    expect(refused.message).toMatch(/byte limit|report kinds|report rate/);

    // Honest members: a's report reaches b, after whatever the attackers got relayed.
    a.send({ type: 'report', epoch: 1, kind: 'ready', data: { planEpoch: 7 } });
    const got = await b.next('report', (r) => r.from === wa.peerId);
    expect(got.data).toEqual({ planEpoch: 7 });
    // Nothing b received from the attackers was big: refused reports are never relayed (the pong
    // comes after every frame the server sent b before it).
    b.send({ type: 'heartbeat', nonce: 1 });
    await b.next('pong');
    expect(bigFramesAtB).toBe(0);
    expect(server.alive()).toBe(true);
    const growth = server.rss() - rssBefore;
    expect(growth).toBeLessThan(RSS_BOUND_BYTES);
  });
});
