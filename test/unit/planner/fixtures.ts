// Shared helpers for the planner tests: arbitraries, and oracles written independently of the
// planner (bisection for quotas, brute force for feasibility) so tests do not grade the planner
// with its own arithmetic.
import fc from 'fast-check';
import { asPeerId } from '../../../shared/ids.ts';
import type { Member } from '../../../shared/planner/member.ts';
import { layerCostBytes, type ModelShape } from '../../../shared/planner/model-shape.ts';
import type { Plan, PlanResult } from '../../../shared/planner/plan.ts';

/** Fixed seed for every property: failures reproduce, CI is deterministic. */
export const FC = { seed: 20261123, numRuns: 200 } as const;

export function member(id: string, memoryBytes: number, speedMsPerLayer = 1, kind: Member['kind'] = 'node', role?: Member['role']): Member {
  return role === undefined ? { peerId: asPeerId(id), memoryBytes, speedMsPerLayer, kind } : { peerId: asPeerId(id), memoryBytes, speedMsPerLayer, kind, role };
}

export function shape(over: Partial<ModelShape> = {}): ModelShape {
  return { numLayers: 8, bytesPerLayer: 100, embedBytes: 0, headBytes: 0, kvBytesPerTokenPerLayer: 0, contextTokens: 1, ...over };
}

export function planned(result: PlanResult): Plan {
  if (result.kind !== 'planned') throw new Error(`expected a plan, got ${JSON.stringify(result)}`);
  return result.plan;
}

export function counts(plan: Plan): Record<string, number> {
  return Object.fromEntries(plan.ring.map((s) => [s.peerId, s.end - s.start]));
}

export const shapeArb: fc.Arbitrary<ModelShape> = fc.record({
  numLayers: fc.integer({ min: 1, max: 48 }),
  bytesPerLayer: fc.integer({ min: 1, max: 1000 }),
  embedBytes: fc.integer({ min: 0, max: 3000 }),
  headBytes: fc.integer({ min: 0, max: 3000 }),
  kvBytesPerTokenPerLayer: fc.integer({ min: 0, max: 20 }),
  contextTokens: fc.integer({ min: 1, max: 64 }),
});

export const speedArb = fc.constantFrom(0.5, 1, 1, 1, 2, 3, 7.25);

/** Members with unique ids whose budgets range from "not one layer" to "the whole model". */
export function membersArb(
  s: ModelShape,
  opts: { maxMembers?: number; speed?: fc.Arbitrary<number>; role?: fc.Arbitrary<Member['role']> } = {},
): fc.Arbitrary<Member[]> {
  const c = layerCostBytes(s);
  const whole = s.numLayers * c + s.embedBytes + s.headBytes;
  return fc
    .uniqueArray(
      fc.record({
        id: fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/),
        memoryBytes: fc.oneof(fc.integer({ min: 0, max: c * 3 }), fc.integer({ min: 0, max: whole }), fc.integer({ min: 0, max: Math.ceil(whole / 3) })),
        speed: opts.speed ?? speedArb,
        kind: fc.constantFrom<Member['kind']>('node', 'browser'),
        role: opts.role ?? fc.constant(undefined),
      }),
      { selector: (m) => m.id, maxLength: opts.maxMembers ?? 9 },
    )
    .map((ms) => ms.map((m) => member(m.id, m.memoryBytes, m.speed, m.kind, m.role)));
}

/** Deterministic shuffle from an arbitrary list of keys (fast-check supplies the keys). */
export function permute<T>(items: readonly T[], keys: readonly number[]): T[] {
  return items
    .map((item, i) => ({ item, key: keys[i % Math.max(1, keys.length)] ?? 0, i }))
    .sort((a, b) => a.key - b.key || a.i - b.i)
    .map(({ item }) => item);
}

/** Layers a budget holds at a ring position. */
export function capAt(s: ModelShape, memoryBytes: number, first: boolean, last: boolean): number {
  const over = (first ? s.embedBytes : 0) + (last ? s.headBytes : 0);
  return Math.max(0, Math.floor((memoryBytes - over) / layerCostBytes(s)));
}

/**
 * Reference quotas for a plan's ring by bisection: q_i = clamp(λ·memory/speed, 1, cap_i) with
 * Σ q = numLayers, caps taken at each stage's position.
 */
export function referenceQuotas(s: ModelShape, members: readonly Member[], plan: Plan): number[] {
  const byId = new Map(members.map((m) => [m.peerId as string, m]));
  const n = plan.ring.length;
  const w = plan.ring.map((st) => {
    const m = byId.get(st.peerId) as Member;
    return m.memoryBytes / m.speedMsPerLayer;
  });
  const caps = plan.ring.map((st, i) => capAt(s, (byId.get(st.peerId) as Member).memoryBytes, i === 0, i === n - 1));
  const q = (lambda: number): number[] => w.map((wi, i) => Math.min(caps[i] as number, Math.max(1, lambda * wi)));
  let lo = 0;
  let hi = 1;
  while (q(hi).reduce((a, b) => a + b, 0) < s.numLayers && hi < 1e300) hi *= 2;
  for (let it = 0; it < 200; it++) {
    const mid = (lo + hi) / 2;
    if (q(mid).reduce((a, b) => a + b, 0) < s.numLayers) lo = mid;
    else hi = mid;
  }
  return q(hi);
}

/**
 * Brute force: does any ordered selection of members hold the model? (small member sets only)
 * `ends` restricts who may be first and last (a one-member ring needs both).
 */
export function feasibleByBruteForce(
  s: ModelShape,
  members: readonly Member[],
  ends: { first: (m: Member) => boolean; last: (m: Member) => boolean } = { first: () => true, last: () => true },
): boolean {
  const L = s.numLayers;
  const search = (order: Member[]): boolean => {
    if (order.length > 0 && order.length <= L && ends.first(order[0] as Member) && ends.last(order[order.length - 1] as Member)) {
      const caps = order.map((m, i) => capAt(s, m.memoryBytes, i === 0, i === order.length - 1));
      if (caps.every((c) => c >= 1) && caps.reduce((a, b) => a + b, 0) >= L) return true;
    }
    if (order.length >= Math.min(L, members.length)) return false;
    return members.some((m) => !order.includes(m) && search([...order, m]));
  };
  return search([]);
}
