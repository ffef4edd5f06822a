// Which replica ring a request goes to (docs/ring.md, "Replica rings"): the least loaded by this
// requester's own sessions on it, ties to the ring whose stage 0 is nearest by measured round
// trip, then plan order. Pure: the fold passes its requests and the edge's round trips.
import type { PeerId } from '../ids.ts';
import type { RequestState } from './requester-state.ts';

export interface RingChoice {
  /** Ready rings of `epoch`, in plan order. */
  readonly rings: readonly (readonly PeerId[])[];
  readonly epoch: number;
  /** This requester: a ring whose stage 0 it is costs no round trip. */
  readonly self: PeerId;
  /** Smoothed round trip to `peer`, ms; undefined when not measured (ranks after every measured one). */
  readonly rttMs?: (peer: PeerId) => number | undefined;
}

/** Sessions of `requests` submitted to `ring` in `epoch` and not finished. */
export function ringLoad(ring: readonly PeerId[], epoch: number, requests: Iterable<RequestState>): number {
  let n = 0;
  for (const r of requests) if (r.phase !== 'waiting' && r.epoch === epoch && r.stages[0] === ring[0]) n++;
  return n;
}

/**
 * The ring for one submission, or null when every ring is excluded. `avoid`: stages a failed
 * submission ran through — a ring holding any of them is not chosen (rings are disjoint, so this
 * is the ring that failed).
 */
export function pickRing(choice: RingChoice, requests: Iterable<RequestState>, avoid: readonly PeerId[] = []): readonly PeerId[] | null {
  const all = [...requests];
  let best: { ring: readonly PeerId[]; load: number; rtt: number } | null = null;
  for (const ring of choice.rings) {
    if (ring.length === 0 || ring.some((p) => avoid.includes(p))) continue;
    const head = ring[0] as PeerId;
    const load = ringLoad(ring, choice.epoch, all);
    const rtt = head === choice.self ? 0 : (choice.rttMs?.(head) ?? Number.POSITIVE_INFINITY);
    if (best === null || load < best.load || (load === best.load && rtt < best.rtt)) best = { ring, load, rtt };
  }
  return best?.ring ?? null;
}
