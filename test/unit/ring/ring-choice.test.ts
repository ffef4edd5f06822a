import { describe, expect, it } from 'vitest';
import { RunTiming } from '../../../shared/engine/run-timing.ts';
import { asPeerId, asSessionId, type PeerId } from '../../../shared/ids.ts';
import { DEFAULT_SESSION_MS, MIN_SESSION_MS, PACKED_SESSION_SHARE, pickRing, sessionCostMs, type RingChoice } from '../../../shared/ring/ring-choice.ts';
import type { RequestState } from '../../../shared/ring/requester-state.ts';

// Which replica ring a new session goes to (docs/ring.md, "Replica rings"): round trip to stage 0
// (none for the requester's own ring) + its sessions there × what one more adds to each step.
const [ME, A, B] = ['me', 'a', 'b'].map(asPeerId) as [PeerId, PeerId, PeerId];

/** Assigns `n` sessions one after another, as the fold does, and counts them per ring head. */
function assign(choice: RingChoice, n: number): Record<string, number> {
  const requests: RequestState[] = [];
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const ring = pickRing(choice, requests);
    if (ring === null) throw new Error('no ring');
    const head = ring[0] as string;
    counts[head] = (counts[head] ?? 0) + 1;
    requests.push({ id: asSessionId(`s${i}`), phase: 'running', epoch: choice.epoch, stages: ring } as unknown as RequestState);
  }
  return counts;
}

const rings = [[ME], [A], [B]];
const rtt =
  (ms: Record<string, number>) =>
  (p: PeerId): number | undefined =>
    ms[p];

describe('pickRing', () => {
  it('far rings (41 ms) and cheap packed sessions (3 ms): all eight stay on the requester’s own ring', () => {
    expect(assign({ rings, epoch: 1, self: ME, rttMs: rtt({ a: 41, b: 41 }), sessionMs: 3 }, 8)).toEqual({ me: 8 });
  });

  it('near rings (0.4 ms): sessions spread evenly, the own ring first', () => {
    expect(assign({ rings, epoch: 1, self: ME, rttMs: rtt({ a: 0.4, b: 0.4 }), sessionMs: 3 }, 9)).toEqual({ me: 3, a: 3, b: 3 });
  });

  it('in between (11 ms, 3 ms a session): the own ring takes what its load is worth, the rest spread', () => {
    // Costs of the next session: own ring 0, 3, 6, 9, 12, 15; each far ring 11, 14 (ties: plan order).
    expect(assign({ rings, epoch: 1, self: ME, rttMs: rtt({ a: 11, b: 11 }), sessionMs: 3 }, 8)).toEqual({ me: 5, a: 2, b: 1 });
  });

  it('a requester with no ring of its own spreads by load, ties to the nearer; unmeasured counts as the slowest', () => {
    expect(assign({ rings: [[A], [B]], epoch: 1, self: ME, rttMs: rtt({ a: 5 }), sessionMs: 3 }, 4)).toEqual({ a: 2, b: 2 });
    const order: string[] = [];
    const requests: RequestState[] = [];
    for (let i = 0; i < 2; i++) {
      const ring = pickRing({ rings: [[B], [A]], epoch: 1, self: ME, rttMs: rtt({ a: 5 }) }, requests)!;
      order.push(ring[0] as string);
      requests.push({ id: asSessionId(`s${i}`), phase: 'running', epoch: 1, stages: ring } as unknown as RequestState);
    }
    expect(order).toEqual(['a', 'b']);
  });

  it('skips rings holding an avoided peer, and sessions of another epoch or still waiting do not load a ring', () => {
    const choice: RingChoice = { rings, epoch: 2, self: ME, rttMs: rtt({ a: 1, b: 1 }), sessionMs: 100 };
    const stale = [
      { id: asSessionId('x'), phase: 'running', epoch: 1, stages: [ME] },
      { id: asSessionId('y'), phase: 'waiting', epoch: 2, stages: [ME] },
    ] as unknown as RequestState[];
    expect(pickRing(choice, stale)).toEqual([ME]);
    expect(pickRing(choice, stale, [ME])).toEqual([A]);
    expect(pickRing(choice, stale, [ME, A, B])).toBeNull();
  });
});

describe('sessionCostMs and RunTiming', () => {
  it('takes the measured packed extra, else a share of a lone decode run, else the default; never under the floor', () => {
    const n = { decodeRuns: 9, packedRuns: 3, packedSessions: 9 };
    expect(sessionCostMs(undefined)).toBe(DEFAULT_SESSION_MS);
    expect(sessionCostMs({ ...n, decodeMs: 20 })).toBe(20 * PACKED_SESSION_SHARE);
    expect(sessionCostMs({ ...n, decodeMs: 20, extraRowMs: 2.5 })).toBe(2.5);
    expect(sessionCostMs({ ...n, decodeMs: 0.3, extraRowMs: 0.01 })).toBe(MIN_SESSION_MS);
  });

  it('RunTiming: one-row runs set the lone decode cost, packed runs the extra per row over it', () => {
    const t = new RunTiming();
    t.record(4, 40); // a packed run before any lone one says nothing of the extra yet
    expect(t.snapshot()).toEqual({ decodeRuns: 1, packedRuns: 1, packedSessions: 4 });
    t.record(1, 10);
    t.record(5, 18);
    expect(t.snapshot()).toEqual({ decodeMs: 10, extraRowMs: 2, decodeRuns: 3, packedRuns: 2, packedSessions: 9 });
    t.record(1, 20); // smoothed, not replaced
    expect(t.snapshot().decodeMs).toBeCloseTo(12);
    t.record(1, Number.NaN);
    t.record(0, 5);
    expect(t.snapshot().decodeMs).toBeCloseTo(12);
  });
});
