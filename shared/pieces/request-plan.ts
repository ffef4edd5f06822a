// One scheduling step of a swarm (docs/pieces.md, "Scheduler"): the scheduler's input assembled
// from live state (the sessions counted on, the origin candidates, what is in flight where), its
// decisions (scheduler.ts, pure) carried out as REQUESTs, CANCELs and origin reads.
import type { OriginCandidate } from './origin-assignment.ts';
import type { OriginCoordination } from './origin-coordination.ts';
import type { PieceCatalog } from './piece-catalog.ts';
import { keyOf, type PieceKey, type PieceRef } from './piece-ref.ts';
import type { PieceSession } from './piece-session.ts';
import { ORIGIN, selectPieces, trackWaiting, type Action, type SchedulerLimits } from './scheduler.ts';
import type { WantedRef } from './unit-wants.ts';

export interface PlanInput {
  readonly self: string;
  /** When this swarm started: the origin handoff rule's join time. */
  readonly startedAt: number;
  readonly now: number;
  /** Wanted pieces not held yet, in priority order. */
  readonly left: readonly WantedRef[];
  readonly sessions: ReadonlyMap<string, PieceSession>;
  readonly isBanned: (id: string) => boolean;
  /** Pieces being written to the store: in flight, not to be asked for again. */
  readonly storing: ReadonlySet<PieceKey>;
  readonly origin: OriginCoordination;
  /** Whether the origin may be read now (configured, not a seed's own package, not paused). */
  readonly hasOrigin: boolean;
  readonly limits: SchedulerLimits;
  readonly stallMs: number;
  readonly rng: () => number;
}

export interface StepInput extends PlanInput {
  readonly catalog: PieceCatalog;
  readonly fromOrigin: (ref: PieceRef) => void;
  readonly trace: ((line: string) => void) | undefined;
}

/** Plans and sends this step's requests (see `planRequests`). */
export function requestStep(i: StepInput): void {
  // A stalled peer that also left the signaling room (a killed process) is gone: close it now
  // rather than after its PING times out, so nobody waits on it as an origin designee.
  for (const s of [...i.sessions.values()]) if (i.origin.leftRoom(s.id) && s.stalled(i.stallMs)) s.conn.close('left the room');
  const { actions, members } = planRequests(i);
  for (const a of actions) {
    const ref = i.catalog.get(a.key);
    if (!ref) continue;
    if (a.kind === 'cancel') i.sessions.get(a.source)?.cancel(a.key);
    else if (a.source === ORIGIN) {
      i.trace?.(i.origin.describe(a.key, i.self, i.startedAt, i.now, members));
      i.fromOrigin(ref);
    } else {
      const s = i.sessions.get(a.source);
      if (s && !s.has.has(a.key)) i.origin.probed(a.key, s.id); // it did not announce the piece: a probe
      s?.request(ref.unit, ref.index, ref.length);
    }
  }
}

export interface Plan {
  readonly actions: readonly Action<PieceKey>[];
  /** Everyone the origin decisions were made on (for `PieceSwarmOptions.trace`). */
  readonly members: readonly OriginCandidate[];
}

/** The scheduler's next actions; advances the origin-only pieces' waiting clocks on the way. */
export function planRequests(i: PlanInput): Plan {
  // A stalled peer's pieces and requests are not counted on: they go elsewhere meanwhile.
  const { live, peers, pendingMembers } = i.origin.view(i.sessions, i.isBanned, i.stallMs);
  const inFlight = [
    ...live.flatMap((s) => s.inFlight().map((key) => ({ key, source: s.id }))),
    ...[...i.origin.reading].map((key) => ({ key, source: ORIGIN })),
    ...[...i.storing].map((key) => ({ key, source: 'store' })),
  ];
  const state = {
    self: i.self,
    selfSince: i.startedAt,
    now: i.now,
    wanted: i.left.map((w) => ({ key: keyOf(w.ref), tier: w.tier, length: w.ref.length })),
    peers,
    pendingMembers,
    inFlight,
    limits: i.limits,
    released: i.origin.released,
    hasOrigin: i.hasOrigin,
  };
  i.origin.waiting = trackWaiting({ ...state, waitingSince: i.origin.waiting });
  return { actions: selectPieces({ ...state, waitingSince: i.origin.waiting }, i.rng), members: [...peers, ...pendingMembers] };
}
