// Internal representation shared by the fresh and the fewest-moves layouts.
import { memberWeight, type Member } from './member.ts';
import { capacityAt, roleCapacity, type RoleCapacity } from './capacity.ts';
import { stageBytes, type ModelShape } from './model-shape.ts';
import type { Plan, PlanStage, Seeder } from './plan.ts';
import { waterFill } from './apportion.ts';

/** A member with what the planner derives from it once. */
export interface Entry {
  readonly member: Member;
  readonly cap: RoleCapacity;
  readonly weight: number;
  /** Rank of the peer id among all members (the tie-break). */
  readonly idRank: number;
}

/** Stages in ring order with their layer counts. */
export interface Layout {
  readonly order: readonly Entry[];
  readonly counts: readonly number[];
}

/** Builds entries from canonical (id-sorted) members. */
export function toEntries(shape: ModelShape, sorted: readonly Member[]): Entry[] {
  return sorted.map((member, idRank) => ({ member, cap: roleCapacity(shape, member.memoryBytes), weight: memberWeight(member), idRank }));
}

/** Heavier first; equal weights by peer id. */
export function byWeightThenId(a: Entry, b: Entry): number {
  return b.weight - a.weight || a.idRank - b.idRank;
}

/** Layer capacity of each position of `order` (first holds embed, last holds head). */
export function positionalCaps(order: readonly Entry[]): number[] {
  return order.map((e, i) => capacityAt(e.cap, i === 0, i === order.length - 1));
}

/**
 * Memory-capped proportional quotas for a ring order, or null when the order cannot hold the
 * model (a position with no room for one layer, more stages than layers, or too little room).
 */
export function orderQuotas(order: readonly Entry[], numLayers: number): { quotas: number[]; caps: number[] } | null {
  if (order.length === 0 || order.length > numLayers) return null;
  const caps = positionalCaps(order);
  if (caps.some((c) => c < 1)) return null;
  if (caps.reduce((s, c) => s + c, 0) < numLayers) return null;
  const quotas = waterFill(
    order.map((e) => e.weight),
    order.map(() => 1),
    caps,
    numLayers,
  );
  return { quotas, caps };
}

/** The public plan for a layout; every other member becomes a seeder. */
export function layoutToPlan(shape: ModelShape, layout: Layout, all: readonly Entry[]): Plan {
  const ring: PlanStage[] = [];
  let start = 0;
  layout.order.forEach((e, i) => {
    const end = start + (layout.counts[i] as number);
    ring.push({ peerId: e.member.peerId, start, end, reservedBytes: stageBytes(shape, start, end) });
    start = end;
  });
  const inRing = new Set(layout.order.map((e) => e.member.peerId));
  const seeders: Seeder[] = all
    .filter((e) => !inRing.has(e.member.peerId))
    .map((e) => ({ peerId: e.member.peerId, reason: e.cap.middle < 1 ? 'too-small' : 'not-needed' }));
  return { ring, seeders };
}
