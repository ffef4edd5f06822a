// The latency-aware room planner: the fastest ring by expected time per token, then replica rings
// over the members left, and few moves on join and leave (docs/planner.md, "Latency-aware
// placement", "Replica rings", "Re-planning a room").
import { missingBytes } from './capacity.ts';
import { InvalidPlanInputError } from './errors.ts';
import { layoutMs } from './latency-cost.ts';
import { fastestRing, type CostedLayout } from './latency-ring.ts';
import { layoutToPlan, toEntries, type Entry } from './layout.ts';
import { canonicalMembers, type Member } from './member.ts';
import { stageBytes, totalModelBytes, validateModelShape, type ModelShape } from './model-shape.ts';
import type { Seeder } from './plan.ts';
import { endRulesFor, isTrusted } from './roles.ts';
import { previousRings, type ReplicaRing, type RoomPlan, type RoomPlanOptions, type RoomPlanResult } from './room-plan.ts';
import { hopTimes, type HopTimes } from './rtt.ts';

const DEFAULT_REPLAN_GAIN = 0.1;
const DEFAULT_REPLICA_SLOWDOWN = 2;

/**
 * Plans a room: one or more replica rings, each a full copy of the layers over disjoint members.
 * Pure and deterministic (member and sample order do not matter; ties go by peer id).
 *
 * - Ring 1 is the fastest ring found by expected ms per token (compute + hops) under the most
 *   private end rule that can hold the model; never slower by that measure than `planPartition`'s
 *   memory-proportional ring, which is one of its candidates. Members it does not need are not stages.
 * - Further rings from the members left, each under the most private rule its members allow, while
 *   one can hold the model, is at most `replicaSlowdown` times slower than the fastest ring and
 *   puts trusted members at as many ends as the most private ring before it.
 * - Every stage within its budget; `insufficient` exactly when `planPartition` says so.
 * - With `previous`: intact rings are kept, and the rest re-planned, unless a plan from scratch is
 *   better by the rule of `RoomPlanOptions.replanGain`.
 *
 * Throws InvalidPlanInputError / DuplicateMemberError on malformed input.
 */
export function planRoom(model: ModelShape, members: readonly Member[], options: RoomPlanOptions = {}): RoomPlanResult {
  validateModelShape(model);
  const gain = options.replanGain ?? DEFAULT_REPLAN_GAIN;
  if (!Number.isFinite(gain) || gain < 0) throw new InvalidPlanInputError('options.replanGain', `${gain} must be a finite number ≥ 0`);
  const slowdown = options.replicaSlowdown ?? DEFAULT_REPLICA_SLOWDOWN;
  if (Number.isNaN(slowdown) || slowdown < 1) throw new InvalidPlanInputError('options.replicaSlowdown', `${slowdown} must be a number ≥ 1`);
  const hops = hopTimes(options.rttMs, options.defaultRttMs);
  const all = toEntries(model, canonicalMembers(members));
  const missing = missingBytes(
    model,
    all.map((e) => e.cap),
  );
  const eligible = all.filter((e) => e.cap.middle >= 1);
  const fresh = missing > 0 ? [] : formRings(eligible, [], model.numLayers, hops, slowdown);
  if (fresh.length === 0) {
    return {
      kind: 'insufficient',
      missingBytes: missing,
      requiredBytes: totalModelBytes(model),
      offeredBytes: all.reduce((s, e) => s + e.member.memoryBytes, 0),
    };
  }
  let rings = fresh;
  const kept = options.previous === undefined ? [] : intactRings(model, eligible, previousRings(options.previous), hops);
  if (kept.length > 0) {
    const rolesApply = endRulesFor(eligible).length > 1;
    const withKept = formRings(eligible, kept, model.numLayers, hops, slowdown);
    if (keepPrevious(withKept, fresh, gain, rolesApply)) rings = withKept;
  }
  return { kind: 'planned', plan: roomPlan(model, rings, all) };
}

/** The fastest ring over `pool` under the most private end rule that can hold the model. */
function ringUnderRules(pool: readonly Entry[], numLayers: number, hops: HopTimes): CostedLayout | null {
  for (const rule of endRulesFor(pool)) {
    const ring = fastestRing(pool, numLayers, rule, hops);
    if (ring !== null) return ring;
  }
  return null;
}

/**
 * `kept` rings, then new rings from the members in none of them, while one can hold the model and
 * is at most `slowdown` times slower than the fastest so far; then rings that slow compared with
 * the fastest of all are dropped, unless more private than every faster one (the first ring of a
 * room with roles may be slower than a contributors' replica).
 */
function formRings(eligible: readonly Entry[], kept: readonly CostedLayout[], numLayers: number, hops: HopTimes, slowdown: number): CostedLayout[] {
  const rings = [...kept];
  const used = new Set(kept.flatMap((r) => r.layout.order));
  // Each new ring takes at least one member, so this many rounds suffice.
  for (let round = 0; round < eligible.length; round++) {
    const pool = eligible.filter((e) => !used.has(e));
    if (pool.length === 0) break;
    const ring = ringUnderRules(pool, numLayers, hops);
    if (ring === null || ring.ms > slowdown * fastestMs(rings)) break;
    // A replica less private than the rings the room already has would hand a requester's ids to
    // contributors that the first ring keeps them from (docs/security.md, "Roles"): not formed.
    if (rings.length > 0 && privacy(ring) < Math.max(...rings.map(privacy))) break;
    rings.push(ring);
    for (const e of ring.layout.order) used.add(e);
  }
  // Kept rings that slow go too, unless a ring puts trusted members at more ends than every fast one.
  const fast = (r: CostedLayout): boolean => r.ms <= slowdown * fastestMs(rings);
  const fastPrivacy = Math.max(...rings.filter(fast).map(privacy));
  return rings.filter((r) => fast(r) || privacy(r) > fastPrivacy);
}

function fastestMs(rings: readonly CostedLayout[]): number {
  return rings.reduce((m, r) => Math.min(m, r.ms), Infinity);
}

/**
 * Previous rings whose every member is still here with the same stage still within its budget,
 * costed with today's speeds and round trips. A ring that lost a member is not kept: its
 * survivors go back to the pool.
 */
function intactRings(
  model: ModelShape,
  eligible: readonly Entry[],
  previous: readonly (readonly { peerId: string; start: number; end: number }[])[],
  hops: HopTimes,
): CostedLayout[] {
  const byId = new Map(eligible.map((e) => [e.member.peerId as string, e]));
  const used = new Set<string>();
  const out: CostedLayout[] = [];
  for (const ring of previous) {
    let next = 0;
    const order: Entry[] = [];
    for (const s of ring) {
      const e = byId.get(s.peerId);
      if (e === undefined || used.has(s.peerId) || s.start !== next || s.end <= s.start) break;
      if (stageBytes(model, s.start, s.end) > e.member.memoryBytes) break;
      order.push(e);
      next = s.end;
    }
    if (order.length !== ring.length || next !== model.numLayers) continue;
    for (const e of order) used.add(e.member.peerId);
    const layout = { order, counts: ring.map((s) => s.end - s.start) };
    out.push({ layout, ms: layoutMs(layout, hops) });
  }
  return out;
}

/** 2: both ends trusted (or one trusted member alone); 1: stage 0 trusted; else 0. */
function privacy(r: CostedLayout): number {
  const first = r.layout.order[0] as Entry;
  const last = r.layout.order[r.layout.order.length - 1] as Entry;
  if (!isTrusted(first.member)) return 0;
  return isTrusted(last.member) ? 2 : 1;
}

/**
 * The few-moves rule: keep the plan with the previous intact rings unless the plan from scratch
 * has more rings, or (when roles apply) a ring with trusted members at more ends, or the kept
 * plan's fastest ring takes more than (1 + gain) times the fresh plan's fastest.
 */
function keepPrevious(withKept: readonly CostedLayout[], fresh: readonly CostedLayout[], gain: number, rolesApply: boolean): boolean {
  if (withKept.length === 0 || withKept.length < fresh.length) return false;
  if (rolesApply && Math.max(...withKept.map(privacy)) < Math.max(...fresh.map(privacy))) return false;
  // Keep unless the kept plan's fastest ring is more than (1 + gain) times the fresh plan's.
  return fastestMs(fresh) * (1 + gain) >= fastestMs(withKept);
}

function roomPlan(model: ModelShape, rings: readonly CostedLayout[], all: readonly Entry[]): RoomPlan {
  const replicas: ReplicaRing[] = rings.map((r) => ({ ring: layoutToPlan(model, r.layout, all).ring, msPerToken: r.ms }));
  const inRing = new Set(rings.flatMap((r) => r.layout.order));
  const seeders: Seeder[] = all.filter((e) => !inRing.has(e)).map((e) => ({ peerId: e.member.peerId, reason: e.cap.middle < 1 ? 'too-small' : 'not-needed' }));
  return { ring: (replicas[0] as ReplicaRing).ring, seeders, rings: replicas };
}
