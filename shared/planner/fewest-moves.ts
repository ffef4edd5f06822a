// Re-planning against a previous plan: keep the stage set and the quotas of the fresh plan (so
// every guarantee of a fresh plan still holds) but choose ring order and rounding to keep as many
// layers where they already are.
import type { PeerId } from '../ids.ts';
import { roundingChoices } from './apportion.ts';
import { orderQuotas, type Entry, type Layout } from './layout.ts';
import type { Plan } from './plan.ts';

type Ranges = ReadonlyMap<PeerId, readonly [number, number]>;

function overlap(range: readonly [number, number] | undefined, start: number, end: number): number {
  if (range === undefined) return 0;
  return Math.max(0, Math.min(end, range[1]) - Math.max(start, range[0]));
}

/** Layers that keep their owner when `layout` replaces the plan whose ranges are `before`. */
export function keptLayers(layout: Layout, before: Ranges): number {
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
 * Counts for a fixed order, each floor or ceil of its quota, Σ = numLayers, maximising kept
 * layers (dynamic programme over stages × number of ceilings used so far). Null when float error
 * left no valid rounding (the caller then skips this order).
 */
function keepMostRounding(order: readonly Entry[], quotas: readonly number[], numLayers: number, before: Ranges): number[] | null {
  const choices = quotas.map(roundingChoices);
  const n = order.length;
  const ups = numLayers - choices.reduce((s, [lo]) => s + lo, 0);
  if (ups < 0 || ups > choices.filter(([lo, hi]) => hi > lo).length) return null;
  // best[i][r]: most kept layers over stages < i with r of them rounded up; -1 = unreachable.
  const best: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(ups + 1).fill(-1));
  const tookUp: boolean[][] = Array.from({ length: n + 1 }, () => new Array<boolean>(ups + 1).fill(false));
  (best[0] as number[])[0] = 0;
  let prefixLo = 0;
  for (let i = 0; i < n; i++) {
    const [lo, hi] = choices[i] as readonly [number, number];
    const range = before.get((order[i] as Entry).member.peerId);
    const row = best[i] as number[];
    const next = best[i + 1] as number[];
    const nextUp = tookUp[i + 1] as boolean[];
    for (let r = 0; r <= ups; r++) {
      const here = row[r] as number;
      if (here < 0) continue;
      const start = prefixLo + r;
      const keepLo = here + overlap(range, start, start + lo);
      if (keepLo > (next[r] as number)) {
        next[r] = keepLo;
        nextUp[r] = false;
      }
      if (hi > lo && r < ups) {
        const keepHi = here + overlap(range, start, start + hi);
        if (keepHi > (next[r + 1] as number)) {
          next[r + 1] = keepHi;
          nextUp[r + 1] = true;
        }
      }
    }
    prefixLo += lo;
  }
  if (((best[n] as number[])[ups] as number) < 0) return null;
  const counts = new Array<number>(n);
  for (let i = n, r = ups; i > 0; i--) {
    const up = (tookUp[i] as boolean[])[r] as boolean;
    const [lo, hi] = choices[i - 1] as readonly [number, number];
    counts[i - 1] = up ? hi : lo;
    if (up) r--;
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
 * embed and head) with the new stages inserted as one block at every position, each rounded by
 * `keepMostRounding`; and the fresh layout itself, so a re-plan never moves more than planning
 * from scratch. Ties go to the earlier candidate (unrotated, block earlier), the fresh one last.
 */
export function fewestMovesLayout(fresh: Layout, previous: Plan, numLayers: number): Layout {
  const before: Ranges = new Map(previous.ring.map((s) => [s.peerId, [s.start, s.end] as const]));
  const stages = new Map(fresh.order.map((e) => [e.member.peerId, e] as const));
  const survivors = previous.ring.flatMap((s) => stages.get(s.peerId) ?? []);
  const newcomers = fresh.order.filter((e) => !before.has(e.member.peerId)).sort((a, b) => a.idRank - b.idRank);

  const candidatesFor = (ring: readonly Entry[]): Layout[] => {
    const out: Layout[] = [];
    const positions = newcomers.length === 0 ? [0] : Array.from({ length: ring.length + 1 }, (_, i) => i);
    for (const at of positions) {
      const order = withNewcomers(ring, newcomers, at);
      const fit = orderQuotas(order, numLayers);
      if (fit === null) continue;
      const counts = keepMostRounding(order, fit.quotas, numLayers, before);
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
