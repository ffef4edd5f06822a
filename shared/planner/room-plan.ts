// A room's plan with replica rings: one or more rings, each a full copy of the layers over its own
// members (docs/planner.md, "Replica rings"). It is a `Plan` whose `ring` is the first ring, so
// code that knows one ring keeps working on it.
import { checkPlan } from './check-plan.ts';
import { InvalidPlanError } from './errors.ts';
import type { Member } from './member.ts';
import type { ModelShape } from './model-shape.ts';
import type { Plan, PlanResult, PlanStage } from './plan.ts';
import type { RttSample } from './rtt.ts';

/** One replica ring and the planner's expected time of a token through it. */
export interface ReplicaRing {
  readonly ring: readonly PlanStage[];
  /** Compute + hops per token by the planner's cost model (docs/planner.md, "Cost model"). */
  readonly msPerToken: number;
}

/**
 * `rings[0].ring === ring`. A fresh plan lists rings in the order formed: first the fastest ring
 * the most private end rule allows, then replicas; a re-plan lists the rings it kept in their
 * previous order, then new ones. `seeders` are the members in no ring.
 */
export interface RoomPlan extends Plan {
  readonly rings: readonly ReplicaRing[];
}

export type RoomPlanResult = { readonly kind: 'planned'; readonly plan: RoomPlan } | Extract<PlanResult, { kind: 'insufficient' }>;

export interface RoomPlanOptions {
  /** Measured round trips between members; pairs without one cost `defaultRttMs`. */
  readonly rttMs?: readonly RttSample[];
  /** Round trip assumed for unmeasured pairs (default DEFAULT_RTT_MS). */
  readonly defaultRttMs?: number;
  /** The room's plan before this membership change (a one-ring `Plan` is one replica). */
  readonly previous?: Plan | RoomPlan;
  /**
   * A re-plan keeps the intact previous rings unless a plan from scratch has more rings, or puts
   * trusted members at more ends, or the kept plan's fastest ring takes more than (1 + this) times
   * the fresh plan's fastest (default 0.1).
   */
  readonly replanGain?: number;
  /**
   * A replica ring is formed only when its token is at most this many times slower than the
   * fastest ring's (default 2: a second session sharing the fastest ring gets about half its rate).
   */
  readonly replicaSlowdown?: number;
}

/** The rings of a previous plan, whichever type it has. */
export function previousRings(previous: Plan | RoomPlan): (readonly PlanStage[])[] {
  return 'rings' in previous ? previous.rings.map((r) => r.ring) : [previous.ring];
}

/**
 * Checks every ring as `checkPlan` does (coverage, budgets, members known), that no member is in
 * two rings or both in a ring and a seeder, and that `ring` is the first ring. Throws InvalidPlanError.
 */
export function checkRoomPlan(shape: ModelShape, members: readonly Member[], plan: RoomPlan): void {
  if (plan.rings.length === 0) throw new InvalidPlanError('the room plan has no rings, expected at least one');
  if (plan.rings[0]?.ring !== plan.ring) throw new InvalidPlanError('`ring` is not the first of `rings`');
  const seen = new Set<string>();
  for (const r of plan.rings) {
    checkPlan(shape, members, { ring: r.ring, seeders: [] });
    for (const s of r.ring) {
      if (seen.has(s.peerId)) throw new InvalidPlanError(`peer ${s.peerId} is in two rings, expected one`);
      seen.add(s.peerId);
    }
  }
  for (const s of plan.seeders) {
    if (seen.has(s.peerId)) throw new InvalidPlanError(`peer ${s.peerId} is both a stage and a seeder`);
    if (!members.some((m) => m.peerId === s.peerId)) throw new InvalidPlanError(`seeder ${s.peerId} is not a member`);
  }
}
