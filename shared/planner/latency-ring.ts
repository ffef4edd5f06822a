// The fastest single ring over a pool of members under an end rule, by the cost model of
// latency-cost.ts (docs/planner.md, "Latency-aware placement"). Pure; the pool is in canonical
// (peer id) order, so the same pool gives the same ring bit for bit.
import { freshLayout } from './fresh-layout.ts';
import { fastestCounts, layoutMs } from './latency-cost.ts';
import { byWeightThenId, type Entry, type Layout } from './layout.ts';
import { endsAllowed, withEndMembers, type EndRule } from './roles.ts';
import type { HopTimes } from './rtt.ts';

/** A layout with its expected ms per token. */
export interface CostedLayout {
  readonly layout: Layout;
  readonly ms: number;
}

/** Relative difference below which two costs count as equal, so float noise never decides. */
const MS_EPS = 1e-9;
/** Pools up to this size are searched exhaustively (every subset); larger ones by local search. */
const EXACT_POOL = 8;
/** Members tried at each end of a stage set larger than twice this (by slowness, by room). */
const END_CANDIDATES = 4;
/** Stage sets one local search may cost: bounds the planner's time in large rooms. */
const MAX_EVALUATIONS = 250;

function browserEnds(l: Layout): number {
  const first = l.order[0] as Entry;
  const last = l.order[l.order.length - 1] as Entry;
  return (first.member.kind === 'browser' ? 1 : 0) + (last !== first && last.member.kind === 'browser' ? 1 : 0);
}

/** Is `a` better than `b`? Faster; on (numerically) equal time fewer stages, Node ends, then ids. */
function fasterThan(a: CostedLayout, b: CostedLayout): boolean {
  if (Math.abs(a.ms - b.ms) > MS_EPS * Math.max(1, Math.abs(a.ms), Math.abs(b.ms))) return a.ms < b.ms;
  const [x, y] = [a.layout, b.layout];
  if (x.order.length !== y.order.length) return x.order.length < y.order.length;
  if (browserEnds(x) !== browserEnds(y)) return browserEnds(x) < browserEnds(y);
  for (let i = 0; i < x.order.length; i++) {
    const d = (x.order[i] as Entry).idRank - (y.order[i] as Entry).idRank;
    if (d !== 0) return d < 0;
  }
  for (let i = 0; i < x.counts.length; i++) {
    const d = (x.counts[i] as number) - (y.counts[i] as number);
    if (d !== 0) return d > 0;
  }
  return false;
}

/** A short cyclic order: nearest neighbour from the lowest id, then bounded 2-opt passes. */
function tour(byId: readonly Entry[], hops: HopTimes): Entry[] {
  const d = (a: Entry, b: Entry): number => hops.hopMs(a.member.peerId, b.member.peerId);
  const t: Entry[] = [byId[0] as Entry];
  const left = byId.slice(1);
  while (left.length > 0) {
    const at = t[t.length - 1] as Entry;
    let bi = 0;
    for (let j = 1; j < left.length; j++) if (d(at, left[j] as Entry) < d(at, left[bi] as Entry)) bi = j;
    t.push(left.splice(bi, 1)[0] as Entry);
  }
  const k = t.length;
  for (let pass = 0; pass < k; pass++) {
    let improved = false;
    for (let i = 0; i < k - 2; i++) {
      for (let j = i + 2; j < k; j++) {
        if (i === 0 && j === k - 1) continue;
        const [a, b, c, e] = [t[i] as Entry, t[i + 1] as Entry, t[j] as Entry, t[(j + 1) % k] as Entry];
        const delta = d(a, c) + d(b, e) - d(a, b) - d(c, e);
        if (delta < -MS_EPS * Math.max(1, d(a, b) + d(c, e))) {
          t.splice(i + 1, j - i, ...t.slice(i + 1, j + 1).reverse());
          improved = true;
        }
      }
    }
    if (!improved) break;
  }
  return t;
}

/** Members that may take an end (all of them, or the slowest and the roomiest few), in id order. */
function endCandidates(byId: readonly Entry[], allowed: (e: Entry) => boolean, room: (e: Entry) => number): Entry[] {
  const ok = byId.filter((e) => allowed(e) && room(e) >= 1);
  if (ok.length <= 2 * END_CANDIDATES) return ok;
  // Ends lose room to embed / head: cheapest on members that get few layers anyway, or have spare.
  const slowest = [...ok].sort((a, b) => b.member.speedMsPerLayer - a.member.speedMsPerLayer || a.idRank - b.idRank);
  const roomiest = [...ok].sort((a, b) => room(b) - room(a) || a.idRank - b.idRank);
  const pick = new Set([...slowest.slice(0, END_CANDIDATES), ...roomiest.slice(0, END_CANDIDATES)]);
  return ok.filter((e) => pick.has(e));
}

/**
 * The fastest ring over exactly the members of `set` whose ends obey `rule`, or null. Counts are
 * exact for each order (`fastestCounts`). Ends: every allowed pair (the slowest and the roomiest
 * few in large sets), the middle in id order; with measured round trips also every rotation of a
 * short tour, and the middle follows the tour.
 */
function bestOrder(set: readonly Entry[], numLayers: number, rule: EndRule, hops: HopTimes): CostedLayout | null {
  const byId = [...set].sort((a, b) => a.idRank - b.idRank);
  if (byId.length === 1) {
    const only = byId[0] as Entry;
    if (only.cap.only < numLayers || !rule.first(only) || !rule.last(only)) return null;
    const layout = { order: [only], counts: [numLayers] };
    return { layout, ms: layoutMs(layout, hops) };
  }
  if (byId.length === 0 || byId.length > numLayers) return null;
  let best: CostedLayout | null = null;
  const consider = (order: Entry[]): void => {
    if (!endsAllowed(order, rule)) return;
    const counts = fastestCounts(order, numLayers);
    if (counts === null) return;
    const layout = { order, counts };
    const c = { layout, ms: layoutMs(layout, hops) };
    if (best === null || fasterThan(c, best)) best = c;
  };
  const cycle = hops.measured ? tour(byId, hops) : byId;
  const k = cycle.length;
  if (hops.measured) {
    for (let r = 0; r < k; r++) {
      const rotated = [...cycle.slice(r), ...cycle.slice(0, r)];
      consider(rotated);
      consider([rotated[0] as Entry, ...rotated.slice(1).reverse()]);
    }
  }
  for (const f of endCandidates(byId, rule.first, (e) => e.cap.first)) {
    const from = cycle.indexOf(f);
    const around = [...cycle.slice(from + 1), ...cycle.slice(0, from)];
    for (const l of endCandidates(byId, rule.last, (e) => e.cap.last)) {
      if (l !== f) consider([f, ...around.filter((e) => e !== l), l]);
    }
  }
  return best;
}

/**
 * A bound no ring over exactly `set` beats: the fastest fill with middle capacities (an end's
 * capacity is never larger) plus, for two or more stages, one shortest hop of the set per stage.
 */
function lowerBoundMs(set: readonly Entry[], numLayers: number, hops: HopTimes): number {
  const bySpeed = [...set].sort((a, b) => a.member.speedMsPerLayer - b.member.speedMsPerLayer);
  let left = numLayers - set.length;
  let ms = 0;
  for (const e of bySpeed) {
    const add = Math.max(0, Math.min(left, e.cap.middle - 1));
    ms += (1 + add) * e.member.speedMsPerLayer;
    left -= add;
  }
  if (set.length < 2) return ms;
  let shortest = Infinity;
  for (const a of set) for (const b of set) if (a !== b) shortest = Math.min(shortest, hops.hopMs(a.member.peerId, b.member.peerId));
  return ms + set.length * shortest;
}

/** The pool's members in `set`, in pool order. */
function inPoolOrder(pool: readonly Entry[], set: ReadonlySet<Entry>): Entry[] {
  return pool.filter((e) => set.has(e));
}

/**
 * The fastest ring over members of `pool` (each able to hold a layer) under `rule`, or null when
 * no ring under the rule holds the model. Candidates: the memory-proportional layout
 * (`freshLayout`, so the result is never slower than it), then every subset of a small pool, or in
 * a large pool prefixes of three orders (fastest, roomiest, heaviest) improved by bounded local
 * search (drop, add or swap one member).
 */
export function fastestRing(pool: readonly Entry[], numLayers: number, rule: EndRule, hops: HopTimes): CostedLayout | null {
  const baseline = freshLayout(pool, numLayers, rule);
  if (baseline === null) return null;
  let best: CostedLayout = { layout: baseline, ms: layoutMs(baseline, hops) };
  let evaluations = 0;
  const consider = (set: readonly Entry[]): CostedLayout | null => {
    // Sets that cannot beat the best so far are skipped unless within the tie tolerance.
    if (lowerBoundMs(set, numLayers, hops) - best.ms > MS_EPS * Math.max(1, best.ms)) return null;
    evaluations++;
    const c = bestOrder(set, numLayers, rule, hops);
    if (c !== null && fasterThan(c, best)) best = c;
    return c;
  };
  consider(baseline.order);
  if (pool.length <= EXACT_POOL) {
    for (let mask = 1; mask < 1 << pool.length; mask++) {
      const set = pool.filter((_, i) => (mask >> i) & 1);
      if (set.length > 1 && set.reduce((s, e) => s + e.cap.middle, 0) < numLayers) continue;
      consider(set);
    }
    return best;
  }
  const byWeight = [...pool].sort(byWeightThenId);
  const bySpeed = [...pool].sort((a, b) => a.member.speedMsPerLayer - b.member.speedMsPerLayer || b.cap.middle - a.cap.middle || a.idRank - b.idRank);
  const byRoom = [...pool].sort((a, b) => b.cap.middle - a.cap.middle || a.member.speedMsPerLayer - b.member.speedMsPerLayer || a.idRank - b.idRank);
  for (const sorted of [bySpeed, byRoom, byWeight]) {
    for (let size = 1; size <= sorted.length; size++) {
      const set = withEndMembers(sorted.slice(0, size), byWeight, rule, numLayers);
      if (set !== null && consider(inPoolOrder(pool, new Set(set))) !== null) break;
    }
  }
  // Best-improvement local search; each step strictly improves, the evaluation budget bounds it.
  for (let step = 0; step < 2 * pool.length && evaluations < MAX_EVALUATIONS; step++) {
    const current = best;
    const inside = new Set(current.layout.order);
    const members = inPoolOrder(pool, inside);
    const outside = pool.filter((e) => !inside.has(e));
    const neighbours: Entry[][] = [
      ...members.map((m) => members.filter((e) => e !== m)),
      ...outside.map((o) => inPoolOrder(pool, new Set([...members, o]))),
      ...members.flatMap((m) => outside.map((o) => inPoolOrder(pool, new Set([...members.filter((e) => e !== m), o])))),
    ];
    for (const set of neighbours) {
      if (evaluations >= MAX_EVALUATIONS) break;
      if (set.length > 0) consider(set);
    }
    if (best === current) break;
  }
  return best;
}
