// The from-scratch layout: which members become stages, who holds embed and head, how many
// layers each. Pure; depends only on the member set (already in canonical order).
import { roundLargestRemainder, waterFill } from './apportion.ts';
import { byWeightThenId, orderQuotas, positionalCaps, type Entry, type Layout } from './layout.ts';
import { ANY_ENDS, withEndMembers, type EndRule } from './roles.ts';

/** Distortions closer than this count as equal, so float noise never decides a tie. */
const DISTORTION_EPS = 1e-9;

/**
 * How many of the heaviest members to use: the largest k whose lightest member still earns at
 * least one layer of a proportional split among the k (L·w_k ≥ Σ_{j≤k} w_j). That share shrinks
 * as k grows, so everyone beyond k would round to zero layers: they stay seeders ("not needed").
 */
function stageCount(byWeight: readonly Entry[], numLayers: number): number {
  let k = 0;
  let sum = 0;
  for (const e of byWeight) {
    sum += e.weight;
    if (numLayers * e.weight < sum) break;
    k++;
  }
  return Math.max(1, k);
}

/** Ring order for chosen ends: embed holder, the rest by peer id, head holder. */
function ringOrder(members: readonly Entry[], first: Entry, last: Entry): Entry[] {
  const middle = members.filter((e) => e !== first && e !== last).sort((a, b) => a.idRank - b.idRank);
  return [first, ...middle, last];
}

interface Scored {
  readonly order: Entry[];
  readonly quotas: number[];
  readonly caps: number[];
  readonly distortion: number;
  readonly browserEnds: number;
}

/** Is `a` a better choice of ends than `b`? Least distortion, then node ends, then ids. */
function better(a: Scored, b: Scored): boolean {
  if (Math.abs(a.distortion - b.distortion) > DISTORTION_EPS) return a.distortion < b.distortion;
  if (a.browserEnds !== b.browserEnds) return a.browserEnds < b.browserEnds;
  const [af, al] = [a.order[0] as Entry, a.order[a.order.length - 1] as Entry];
  const [bf, bl] = [b.order[0] as Entry, b.order[b.order.length - 1] as Entry];
  // Smallest id first and largest id last keeps an unconstrained ring in plain id order.
  if (af.idRank !== bf.idRank) return af.idRank < bf.idRank;
  return al.idRank > bl.idRank;
}

/**
 * The best ring over a stage set, or null if it cannot hold the model. Every (first, last) pair the
 * rule allows is tried; the winner distorts the memory-proportional split least (Σ|q − q°| where
 * q° ignores embed and head), so embed and head land where there is spare room.
 */
function bestRing(stages: readonly Entry[], numLayers: number, rule: EndRule): Layout | null {
  if (stages.length === 1) {
    const only = stages[0] as Entry;
    return only.cap.only >= numLayers && rule.first(only) && rule.last(only) ? { order: [only], counts: [numLayers] } : null;
  }
  if (stages.reduce((sum, e) => sum + e.cap.middle, 0) < numLayers) return null;
  const best = (stages.length <= numLayers ? undistortedEnds(stages, numLayers, rule) : null) ?? leastDistortedEnds(stages, numLayers, rule);
  if (best === null) return null;
  const counts = roundLargestRemainder(
    best.quotas,
    numLayers,
    best.order.map(() => 1),
    best.caps,
    best.order.map((e) => e.idRank),
  );
  return { order: best.order, counts };
}

/**
 * Fast path: when some (first, last) pair has room for embed and head on top of its ideal share,
 * the ideal quotas stand unchanged (distortion 0) and only the tie-breaks choose among such pairs.
 */
function undistortedEnds(stages: readonly Entry[], numLayers: number, rule: EndRule): Scored | null {
  const ideal = idealQuotas(stages, numLayers, new Map());
  const fits = (q: number, cap: number): boolean => q <= cap + 1e-9 * Math.max(1, q);
  let best: Scored | null = null;
  for (const first of stages) {
    if (!rule.first(first) || first.cap.first < 1 || !fits(ideal.get(first) as number, first.cap.first)) continue;
    for (const last of stages) {
      if (last === first || !rule.last(last) || last.cap.last < 1 || !fits(ideal.get(last) as number, last.cap.last)) continue;
      const candidate: Scored = {
        order: [first, last], // ends only; the middle is filled in for the winner
        quotas: [],
        caps: [],
        distortion: 0,
        browserEnds: (first.member.kind === 'browser' ? 1 : 0) + (last.member.kind === 'browser' ? 1 : 0),
      };
      if (best === null || better(candidate, best)) best = candidate;
    }
  }
  if (best === null) return null;
  const order = ringOrder(stages, best.order[0] as Entry, best.order[1] as Entry);
  const caps = positionalCaps(order);
  return { ...best, order, caps, quotas: order.map((e, i) => Math.min(caps[i] as number, ideal.get(e) as number)) };
}

/**
 * Slow path: water-fill every (first, last) pair with its real caps and keep the one that
 * distorts the ideal split least (Σ|q − q°|), so embed and head land where there is spare room.
 */
function leastDistortedEnds(stages: readonly Entry[], numLayers: number, rule: EndRule): Scored | null {
  let best: Scored | null = null;
  const ideals = new Map<string, Map<Entry, number>>();
  for (const first of stages) {
    if (!rule.first(first) || first.cap.first < 1) continue;
    for (const last of stages) {
      if (last === first || !rule.last(last) || last.cap.last < 1) continue;
      // More stages than layers: drop the lightest middles (stages are weight-ordered).
      const members = stages.length <= numLayers ? stages : keepHeaviest(stages, first, last, numLayers);
      const order = ringOrder(members, first, last);
      const fit = orderQuotas(order, numLayers);
      if (fit === null) continue;
      const ideal = idealQuotas(members, numLayers, ideals);
      let distortion = 0;
      order.forEach((e, i) => {
        distortion += Math.abs((fit.quotas[i] as number) - (ideal.get(e) as number));
      });
      const scored: Scored = {
        order,
        quotas: fit.quotas,
        caps: fit.caps,
        distortion,
        browserEnds: (first.member.kind === 'browser' ? 1 : 0) + (last.member.kind === 'browser' ? 1 : 0),
      };
      if (best === null || better(scored, best)) best = scored;
    }
  }
  return best;
}

/** Quotas as if embed and head cost nothing (q°), per member; cached per member set. */
function idealQuotas(members: readonly Entry[], numLayers: number, cache: Map<string, Map<Entry, number>>): Map<Entry, number> {
  const key = members.map((e) => e.idRank).join(',');
  let ideal = cache.get(key);
  if (ideal === undefined) {
    const q = waterFill(
      members.map((e) => e.weight),
      members.map(() => 1),
      members.map((e) => e.cap.middle),
      numLayers,
    );
    ideal = new Map(members.map((e, i) => [e, q[i] as number] as const));
    cache.set(key, ideal);
  }
  return ideal;
}

/** The ends plus the heaviest other members, `count` in all (members are weight-ordered). */
function keepHeaviest(members: readonly Entry[], first: Entry, last: Entry, count: number): Entry[] {
  const kept = new Set<Entry>([first, last]);
  for (const e of members) {
    if (kept.size >= count) break;
    kept.add(e);
  }
  return members.filter((e) => kept.has(e));
}

/**
 * The from-scratch layout over eligible members (each can hold ≥ 1 layer in a middle position)
 * whose ends obey `rule`. Uses the `stageCount` heaviest, plus the heaviest members the rule needs
 * at the ends (roles.ts), adding the next heaviest while they cannot hold the model; a single
 * member alone only when no ring of two or more can. Null when nothing can hold the model.
 */
export function freshLayout(eligible: readonly Entry[], numLayers: number, rule: EndRule = ANY_ENDS): Layout | null {
  const byWeight = [...eligible].sort(byWeightThenId);
  for (let size = stageCount(byWeight, numLayers); size <= byWeight.length; size++) {
    const stages = withEndMembers(byWeight.slice(0, size), byWeight, rule, numLayers);
    if (stages === null) break; // no member set has the ends the rule needs: only "alone" is left
    const layout = bestRing(stages, numLayers, rule);
    if (layout !== null) return layout;
  }
  const alone = byWeight.find((e) => e.cap.only >= numLayers && rule.first(e) && rule.last(e));
  return alone === undefined ? null : { order: [alone], counts: [numLayers] };
}
