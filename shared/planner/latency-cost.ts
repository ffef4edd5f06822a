// The latency planner's cost model (docs/planner.md, "Cost model"): the expected time of one
// token through a ring = every stage's compute (layers × its measured ms per layer) + every hop
// around the ring (half the round trip between the two members), the last stage's hop back to
// stage 0 included. A one-stage ring has no hop.
import type { PeerId } from '../ids.ts';
import { InvalidPlanError } from './errors.ts';
import { positionalCaps, type Entry, type Layout } from './layout.ts';
import type { Member } from './member.ts';
import type { PlanStage } from './plan.ts';
import { hopTimes, type HopTimes, type RttSample } from './rtt.ts';

/** Σ over the ring's edges (k edges for k ≥ 2 stages, none for one) of the one-way hop time. */
function hopsMs(ids: readonly PeerId[], hops: HopTimes): number {
  if (ids.length < 2) return 0;
  let ms = 0;
  for (let i = 0; i < ids.length; i++) ms += hops.hopMs(ids[i] as PeerId, ids[(i + 1) % ids.length] as PeerId);
  return ms;
}

/** Expected ms per token of a layout: compute + hops. */
export function layoutMs(layout: Layout, hops: HopTimes): number {
  let ms = 0;
  layout.order.forEach((e, i) => {
    ms += (layout.counts[i] as number) * e.member.speedMsPerLayer;
  });
  return (
    ms +
    hopsMs(
      layout.order.map((e) => e.member.peerId),
      hops,
    )
  );
}

/**
 * Layer counts for a fixed ring order that minimise compute (Σ count × speed): one layer each,
 * the rest to the fastest stages up to their positional capacity (ties: lower peer id). Exact,
 * since compute is linear in the counts. Null when the order cannot hold the model.
 */
export function fastestCounts(order: readonly Entry[], numLayers: number): number[] | null {
  const k = order.length;
  if (k === 0 || k > numLayers) return null;
  const caps = positionalCaps(order);
  if (caps.some((c) => c < 1) || caps.reduce((s, c) => s + c, 0) < numLayers) return null;
  const counts = order.map(() => 1);
  const bySpeed = order
    .map((_, i) => i)
    .sort((i, j) => {
      const a = order[i] as Entry;
      const b = order[j] as Entry;
      return a.member.speedMsPerLayer - b.member.speedMsPerLayer || a.idRank - b.idRank;
    });
  let left = numLayers - k;
  for (const i of bySpeed) {
    if (left === 0) break;
    const add = Math.min(left, (caps[i] as number) - 1);
    counts[i] = (counts[i] as number) + add;
    left -= add;
  }
  return counts;
}

/**
 * The planner's expected ms per token for a ring of stages (any plan's `ring`), with the same
 * round-trip samples and default the planner used. For operators and tests: it compares plans by
 * the planner's own measure. Throws InvalidPlanError if a stage's peer is not among `members`.
 */
export function expectedMsPerToken(members: readonly Member[], ring: readonly PlanStage[], rttMs: readonly RttSample[] = [], defaultRttMs?: number): number {
  const byId = new Map(members.map((m) => [m.peerId as string, m]));
  let ms = 0;
  for (const s of ring) {
    const m = byId.get(s.peerId);
    if (m === undefined) throw new InvalidPlanError(`stage peer ${s.peerId} is not a member`);
    ms += (s.end - s.start) * m.speedMsPerLayer;
  }
  return (
    ms +
    hopsMs(
      ring.map((s) => s.peerId),
      hopTimes(rttMs, defaultRttMs),
    )
  );
}
