// Which replica ring a request goes to (docs/ring.md, "Replica rings"): the one where the new
// session's tokens are expected soonest — this requester's round trip to the ring's stage 0 (none
// for its own ring) plus what each of its sessions already there adds to every step — ties to the
// less loaded ring, then the nearer, then plan order. Pure: the fold passes its requests, the
// edge's round trips and the session cost.
import type { RunTimingSnapshot } from '../engine/run-timing.ts';
import type { PeerId } from '../ids.ts';
import type { RequestState } from './requester-state.ts';

/**
 * Floor of what a session adds to each step of a ring, ms: its frames, sampling and scheduling
 * cost about this on every stage even when the packed matrix work is free.
 */
export const MIN_SESSION_MS = 1;
/** Share of a lone decode run a packed session adds before a packed run was measured (engines.md, "Packed runs"). */
export const PACKED_SESSION_SHARE = 0.25;
/** What a session adds with nothing measured (a requester without a stage of its own). */
export const DEFAULT_SESSION_MS = 5;

export interface RingChoice {
  /** Ready rings of `epoch`, in plan order. */
  readonly rings: readonly (readonly PeerId[])[];
  readonly epoch: number;
  /** This requester: a ring whose stage 0 it is costs no round trip. */
  readonly self: PeerId;
  /** Smoothed round trip to `peer`, ms; undefined when not measured (counts as the slowest measured one). */
  readonly rttMs?: (peer: PeerId) => number | undefined;
  /** What one more session adds to each step of a ring, ms (`sessionCostMs`); default DEFAULT_SESSION_MS. */
  readonly sessionMs?: number;
}

/**
 * What one more session adds to each step of a ring, from this peer's own stage's runs: the
 * measured extra of a packed row, else a share of a lone decode run, else the default; never
 * under MIN_SESSION_MS. Other rings' stages are taken to be like this one.
 */
export function sessionCostMs(timing: RunTimingSnapshot | undefined): number {
  const ms = timing?.extraRowMs ?? (timing?.decodeMs === undefined ? DEFAULT_SESSION_MS : timing.decodeMs * PACKED_SESSION_SHARE);
  return Math.max(MIN_SESSION_MS, ms);
}

/** Sessions of `requests` submitted to `ring` in `epoch` and not finished. */
export function ringLoad(ring: readonly PeerId[], epoch: number, requests: Iterable<RequestState>): number {
  let n = 0;
  for (const r of requests) if (r.phase !== 'waiting' && r.epoch === epoch && r.stages[0] === ring[0]) n++;
  return n;
}

interface Candidate {
  readonly ring: readonly PeerId[];
  readonly load: number;
  /** undefined: a remote stage 0 with no measured round trip. */
  readonly rtt: number | undefined;
}

/**
 * The ring for one submission, or null when every ring is excluded. `avoid`: stages a failed
 * submission ran through — a ring holding any of them is not chosen (rings are disjoint, so this
 * is the ring that failed).
 */
export function pickRing(choice: RingChoice, requests: Iterable<RequestState>, avoid: readonly PeerId[] = []): readonly PeerId[] | null {
  const all = [...requests];
  const candidates: Candidate[] = [];
  for (const ring of choice.rings) {
    if (ring.length === 0 || ring.some((p) => avoid.includes(p))) continue;
    const head = ring[0] as PeerId;
    candidates.push({ ring, load: ringLoad(ring, choice.epoch, all), rtt: head === choice.self ? 0 : choice.rttMs?.(head) });
  }
  // An unmeasured round trip errs on the slow side: the slowest one measured.
  const slowest = Math.max(0, ...candidates.flatMap((c) => (c.rtt === undefined ? [] : [c.rtt])));
  const perSession = choice.sessionMs ?? DEFAULT_SESSION_MS;
  const cost = (c: Candidate): number => (c.rtt ?? slowest) + c.load * perSession;
  const rank = (c: Candidate): number => c.rtt ?? Number.POSITIVE_INFINITY;
  let best: Candidate | null = null;
  for (const c of candidates) {
    if (best === null) best = c;
    else {
      const d = cost(c) - cost(best);
      if (d < 0 || (d === 0 && (c.load < best.load || (c.load === best.load && rank(c) < rank(best))))) best = c;
    }
  }
  return best?.ring ?? null;
}
