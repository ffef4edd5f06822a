// Re-planning against a previous plan: keep the stage set and the quotas of the fresh plan (so
// every guarantee of a fresh plan still holds) but choose ring order and rounding to keep as many
// layers where they already are.
import type { PeerId } from '../ids.ts';
import { roundingChoices } from './apportion.ts';
import { orderQuotas, type Entry, type Layout } from './layout.ts';
import type { Plan } from './plan.ts';
import { ANY_ENDS, endsAllowed, type EndRule } from './roles.ts';

type Ranges = ReadonlyMap<PeerId, readonly [number, number]>;

function overlap(range: readonly [number, number] | undefined, start: number, end: number): number {
  if (range === undefined) return 0;
  return Math.max(0, Math.min(end, range[1]) - Math.max(start, range[0]));
}

/** Layers that keep their owner when `layout` replaces the plan whose ranges are `before`. */
function keptLayers(layout: Layout, before: Ranges): number {
  let start = 0;
  let kept = 0;
  layout.order.forEach((e, i) => {
    const end = start + (layout.counts[i] as number);
    kept += overlap(before.get(e.member.peerId), start, end);
    start = end;
  });
  return kept;
}

/**
 * Counts for a fixed order maximising kept layers, each within `slack` layers of floor/ceil of its
 * quota (slack 0: floor or ceil, the fresh-plan guarantee), inside [1, cap], summing to numLayers.
 * Dynamic programme over (stage, first layer of the next stage); on equal kept layers the count
 * nearer its quota wins. Null when no such counts exist (float error at the band's edge).
 */
function keepMostCounts(
  order: readonly Entry[],
  quotas: readonly number[],
  caps: readonly number[],
  numLayers: number,
  before: Ranges,
  slack: number,
): number[] | null {
  const n = order.length;
  // best[i][p]: most kept layers when stages < i cover layers [0, p); -1 = unreachable.
  const best: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(numLayers + 1).fill(-1));
  const pick: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(numLayers + 1).fill(0));
  (best[0] as number[])[0] = 0;
  for (let i = 0; i < n; i++) {
    const q = quotas[i] as number;
    const [floor, ceil] = roundingChoices(q);
    const lo = Math.max(1, floor - slack);
    const hi = Math.min(caps[i] as number, ceil + slack);
    const options: number[] = [];
    for (let c = lo; c <= hi; c++) options.push(c);
    options.sort((a, b) => Math.abs(a - q) - Math.abs(b - q) || a - b);
    const range = before.get((order[i] as Entry).member.peerId);
    const row = best[i] as number[];
    const next = best[i + 1] as number[];
    const nextPick = pick[i + 1] as number[];
    for (let p = 0; p <= numLayers; p++) {
      const here = row[p] as number;
      if (here < 0) continue;
      for (const c of options) {
        if (p + c > numLayers) continue;
        const kept = here + overlap(range, p, p + c);
        if (kept > (next[p + c] as number)) {
          next[p + c] = kept;
          nextPick[p + c] = c;
        }
      }
    }
  }
  if (((best[n] as number[])[numLayers] as number) < 0) return null;
  const counts = new Array<number>(n);
  for (let i = n, p = numLayers; i > 0; i--) {
    const c = (pick[i] as number[])[p] as number;
    counts[i - 1] = c;
    p -= c;
  }
  return counts;
}

/** Survivors in their previous ring order with the newcomers (by id) inserted at `at`. */
function withNewcomers(survivors: readonly Entry[], newcomers: readonly Entry[], at: number): Entry[] {
  return [...survivors.slice(0, at), ...newcomers, ...survivors.slice(at)];
}

/**
 * The layout over the fresh layout's stages that moves fewest layers from `previous`. Candidates:
 * the surviving stages in their previous order (rotations of it only if that order cannot hold
 * embed and head, or its ends break `rule`) with the new stages inserted as one block at every
 * position, each counted by `keepMostCounts`; and the fresh layout itself, so a re-plan never moves
 * more than planning from scratch. Ties go to the earlier candidate (unrotated, block earlier), the
 * fresh one last. `rule` is the one the fresh layout was made under, so roles hold as in it.
 */
export function fewestMovesLayout(fresh: Layout, previous: Plan, numLayers: number, slack = 0, rule: EndRule = ANY_ENDS): Layout {
  const before: Ranges = new Map(previous.ring.map((s) => [s.peerId, [s.start, s.end] as const]));
  const stages = new Map(fresh.order.map((e) => [e.member.peerId, e] as const));
  const survivors = previous.ring.flatMap((s) => stages.get(s.peerId) ?? []);
  const newcomers = fresh.order.filter((e) => !before.has(e.member.peerId)).sort((a, b) => a.idRank - b.idRank);

  const candidatesFor = (ring: readonly Entry[]): Layout[] => {
    const out: Layout[] = [];
    const positions = newcomers.length === 0 ? [0] : Array.from({ length: ring.length + 1 }, (_, i) => i);
    for (const at of positions) {
      const order = withNewcomers(ring, newcomers, at);
      if (!endsAllowed(order, rule)) continue;
      const fit = orderQuotas(order, numLayers);
      if (fit === null) continue;
      const counts = keepMostCounts(order, fit.quotas, fit.caps, numLayers, before, slack);
      if (counts !== null) out.push({ order, counts });
    }
    return out;
  };

  let candidates = candidatesFor(survivors);
  // Rotating the ring keeps its cyclic order; needed only when the old first/last can't serve.
  for (let rot = 1; candidates.length === 0 && rot < survivors.length; rot++) {
    candidates = candidatesFor([...survivors.slice(rot), ...survivors.slice(0, rot)]);
  }
  candidates.push(fresh);
  let best = fresh;
  let bestKept = -1;
  for (const c of candidates) {
    const kept = keptLayers(c, before);
    if (kept > bestKept) {
      best = c;
      bestKept = kept;
    }
  }
  return best;
}
