// Round trips between members, as the latency-aware planner reads them (docs/planner.md, "Cost
// model"). Peers measure them on their links; pairs nobody measured get a default.
import type { PeerId } from '../ids.ts';
import { InvalidPlanInputError } from './errors.ts';

/** One measured round trip between two members in ms; direction does not matter. */
export interface RttSample {
  readonly a: PeerId;
  readonly b: PeerId;
  readonly rttMs: number;
}

/**
 * Round trip assumed for a pair with no sample: a data-channel hop on a LAN or loopback (a token's
 * hop measured about 0.8 ms one way on loopback, rounded up). Not 0, so that of two rings equally
 * fast in compute the one with fewer hops wins.
 */
const DEFAULT_RTT_MS = 2;

/** One-way time of a hop between two members: half their round trip. */
export interface HopTimes {
  /** False when no sample was given: every hop costs the same, ring order does not matter. */
  readonly measured: boolean;
  hopMs(a: PeerId, b: PeerId): number;
}

/**
 * Hop times from samples. Several samples of one pair (both directions, repeated reports): the
 * largest counts, so the result does not depend on their order and errs on the slow side.
 */
export function hopTimes(samples: readonly RttSample[] = [], defaultRttMs: number = DEFAULT_RTT_MS): HopTimes {
  if (!Number.isFinite(defaultRttMs) || defaultRttMs < 0) {
    throw new InvalidPlanInputError('options.defaultRttMs', `${defaultRttMs} must be a finite number ≥ 0`);
  }
  // Both directions stored, so a lookup is two map reads (the planner makes many).
  const rtt = new Map<string, Map<string, number>>();
  const put = (a: string, b: string, ms: number): void => {
    const row = rtt.get(a) ?? new Map<string, number>();
    row.set(b, Math.max(row.get(b) ?? 0, ms));
    rtt.set(a, row);
  };
  for (const s of samples) {
    if (!Number.isFinite(s.rttMs) || s.rttMs < 0) {
      throw new InvalidPlanInputError(`rtt ${s.a}–${s.b}`, `${s.rttMs} must be a finite number ≥ 0`);
    }
    if (s.a === s.b) throw new InvalidPlanInputError(`rtt ${s.a}–${s.b}`, 'a sample joins a member to itself, expected two members');
    put(s.a, s.b, s.rttMs);
    put(s.b, s.a, s.rttMs);
  }
  return {
    measured: rtt.size > 0,
    hopMs: (a, b) => (a === b ? 0 : (rtt.get(a)?.get(b) ?? defaultRttMs) / 2),
  };
}
