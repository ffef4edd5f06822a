import { describe, expect, it } from 'vitest';
import { asPeerId, type PeerId } from '../../../shared/ids.ts';
import { LinkProbe } from '../../../shared/ring/link-probe.ts';
import type { Clock } from '../../../shared/util/clock.ts';
import { PingTracker } from '../../../shared/transport/ping-tracker.ts';
import type { ConnectionStats, PeerConnection, Transport } from '../../../shared/transport/transport.ts';
import type { Frame } from '../../../shared/wire/frame-types.ts';

// Round trips of a link (docs/ring.md, "Measured links"): smoothed for what tokens see now, the
// lowest recent one for the path itself — what `report rtt` gives the planner, which adds each
// stage's compute apart, so a PONG that waited for a busy event loop must not read as a far hop.

/** A PING answered `ms` after it was sent (the tracker times it against `pingSentAt`). */
async function answer(t: PingTracker, ms: number): Promise<number> {
  let sent: Frame | undefined;
  const rtt = t.ping(async (f) => {
    sent = f;
  }, 1_000);
  await Promise.resolve();
  if (sent?.type !== 'PING') throw new Error('no PING sent');
  t.pong({ type: 'PONG', requestId: sent.requestId, pingSentAt: performance.now() - ms, sentAt: 0 });
  return rtt;
}

describe('PingTracker', () => {
  it('smooths round trips and keeps the lowest of the latest 16', async () => {
    const t = new PingTracker(asPeerId('far'));
    expect([t.srtt, t.minRtt]).toEqual([undefined, undefined]);
    await answer(t, 40);
    expect(t.minRtt).toBeCloseTo(40, 0);
    // A PONG that waited 60 ms for a busy loop: the smoothed figure rises, the path's does not.
    await answer(t, 100);
    expect(t.srtt!).toBeGreaterThan(45);
    expect(t.minRtt).toBeCloseTo(40, 0);
    // 16 later samples push the 40 out of the window.
    for (let i = 0; i < 16; i++) await answer(t, 70);
    expect(t.minRtt).toBeCloseTo(70, 0);
  });
});

describe('LinkProbe', () => {
  it('reports the lowest recent round trip of each link and shows both in status', () => {
    const timers: (() => void)[] = [];
    let now = 0;
    const clock: Clock = { now: () => now, setTimeout: (fn) => timers.push(fn), clearTimeout: () => undefined };
    const conn = (peer: string, stats: Partial<ConnectionStats>): PeerConnection =>
      ({
        remotePeerId: asPeerId(peer),
        link: 'webrtc',
        closed: false,
        ping: () => Promise.resolve(0),
        stats: () => ({ bytesSent: 0, bytesReceived: 0, framesSent: 0, framesReceived: 0, queuedBytes: 0, bufferedAmount: 0, rttMs: undefined, ...stats }),
      }) as unknown as PeerConnection;
    const conns = [conn('busy', { rttMs: 48, minRttMs: 0.4 }), conn('far', { rttMs: 41, minRttMs: 40.5 }), conn('new', {})];
    const transport = { connections: () => conns } as unknown as Transport;
    const reports: unknown[] = [];
    const probe = new LinkProbe({
      transport,
      clock,
      report: (kind, data) => reports.push({ kind, data }),
      throughput: (p: PeerId) => (p === 'far' ? 2e6 : undefined),
    });
    expect(probe.links()).toEqual([
      { peer: 'busy', link: 'webrtc', rttMs: 48, minRttMs: 0.4, relayed: null, throughputBps: null },
      { peer: 'far', link: 'webrtc', rttMs: 41, minRttMs: 40.5, relayed: null, throughputBps: 2e6 },
      { peer: 'new', link: 'webrtc', rttMs: null, minRttMs: null, relayed: null, throughputBps: null },
    ]);
    now = 20_000;
    timers.shift()!();
    expect(reports).toEqual([
      {
        kind: 'rtt',
        data: {
          links: [
            { peer: 'busy', rttMs: 0.4 },
            { peer: 'far', rttMs: 40.5 },
          ],
        },
      },
    ]);
    probe.close();
  });
});
