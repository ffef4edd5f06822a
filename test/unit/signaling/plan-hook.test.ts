import { describe, expect, it } from 'vitest';
import { asPeerId, asRoomId } from '../../../shared/ids.ts';
import type { ModelShape } from '../../../shared/planner/model-shape.ts';
import { MODEL_REPORT, type PlannedRing } from '../../../shared/ring/ring-plan.ts';
import type { Capabilities } from '../../../shared/signaling/protocol.ts';
import type { MemberView } from '../../../signaling/options.ts';
import { RTT_REPORT } from '../../../shared/ring/rtt-report.ts';
import { createRingPlanHook, trustedRttSamples } from '../../../signaling/plan-hook.ts';

const shape: ModelShape = { numLayers: 12, bytesPerLayer: 1000, embedBytes: 500, headBytes: 500, kvBytesPerTokenPerLayer: 10, contextTokens: 10 };
// Rooms are named by their model: the hook plans only the model whose id is the room id.
const room = asRoomId('abc');

function member(id: string, memoryBytes: number, reportsModel = false, role?: 'trusted', rtt?: Record<string, number>): MemberView {
  const capabilities: Capabilities = { kind: 'node', engine: 'cpu', memoryBytes, modelsHeld: [], modelsWanted: [] };
  const reports = new Map<string, { epoch: number; data: unknown }>();
  if (reportsModel) reports.set(MODEL_REPORT, { epoch: 1, data: { modelId: 'abc', shape } });
  if (rtt !== undefined) reports.set(RTT_REPORT, { epoch: 1, data: { links: Object.entries(rtt).map(([peer, rttMs]) => ({ peer, rttMs })) } });
  return { peerId: asPeerId(id), capabilities, reports, joinedAt: 0, ...(role === undefined ? {} : { role }) };
}

const counts = (p: PlannedRing): Record<string, number> => Object.fromEntries(p.ring.map((s) => [s.peerId, s.end - s.start]));

describe('the ring plan hook', () => {
  it('plans nothing until a member reported the model shape', () => {
    expect(createRingPlanHook()(room, [member('a', 1e9)], 1)).toBeUndefined();
  });

  it('splits layers in proportion to memory budgets (memory placement)', () => {
    const plan = createRingPlanHook({ placement: 'memory' })(room, [member('a', 1e6, true), member('b', 2e6), member('c', 1e6)], 2) as PlannedRing;
    expect(plan.kind).toBe('planned');
    expect(counts(plan)).toEqual({ a: 3, b: 6, c: 3 });
  });

  it('re-plans from its previous plan: a leaving peer moves only about its own layers (memory placement)', () => {
    const hook = createRingPlanHook({ placement: 'memory' });
    const before = hook(room, [member('a', 1e6, true), member('b', 1e6), member('c', 1e6)], 2) as PlannedRing;
    const after = hook(room, [member('a', 1e6, true), member('b', 1e6)], 3) as PlannedRing;
    const owner = (p: PlannedRing, l: number): string => p.ring.find((s) => s.start <= l && l < s.end)!.peerId;
    let moved = 0;
    for (let l = 0; l < 12; l++) if (owner(before, l) !== owner(after, l)) moved++;
    expect(after.ring.map((s) => s.peerId).sort()).toEqual(['a', 'b']);
    expect(moved).toBeLessThanOrEqual(4 + 2); // c's 4 layers + at most L/6 boundary shift
  });

  it('answers insufficient memory with the bytes missing', () => {
    const plan = createRingPlanHook()(room, [member('a', 5000, true)], 2);
    expect(plan).toMatchObject({ kind: 'insufficient', modelId: 'abc' });
    expect((plan as { missingBytes: number }).missingBytes).toBeGreaterThan(0);
  });

  it('forms replica rings (latency placement, the default): `ring` is the first of `rings`', () => {
    const plan = createRingPlanHook()(room, [member('a', 1e6, true), member('b', 1e6), member('c', 2e3)], 2) as PlannedRing;
    expect(plan.rings?.map((r) => r.map((s) => s.peerId))).toEqual([['a'], ['b']]);
    expect(plan.ring).toEqual(plan.rings?.[0]);
    expect(plan.seeders).toEqual(['c']);
  });

  it('keeps an intact ring when another ring loses a member', () => {
    const hook = createRingPlanHook();
    const before = hook(room, [member('a', 1e6, true), member('b', 1e6), member('c', 1e6)], 2) as PlannedRing;
    expect(before.rings).toHaveLength(3);
    const after = hook(room, [member('a', 1e6, true), member('c', 1e6)], 3) as PlannedRing;
    expect(after.rings).toEqual(before.rings?.filter((r) => r[0]!.peerId !== 'b'));
  });

  it('plans with the round trips trusted members measured, and only those', () => {
    // Two sites: a, b near each other; c, d near each other; each member holds half the model.
    const half = 9000;
    const far = { a: { b: 1, c: 80, d: 80 }, b: { a: 1, c: 80, d: 80 }, c: { a: 80, b: 80, d: 1 }, d: { a: 80, b: 80, c: 1 } } as Record<
      string,
      Record<string, number>
    >;
    const members = ['a', 'b', 'c', 'd'].map((id, i) => member(id, half, i === 0, 'trusted', far[id]));
    const plan = createRingPlanHook()(room, members, 2) as PlannedRing;
    expect(plan.rings?.map((r) => r.map((s) => s.peerId).sort())).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    // A contributor's report is not a sample; nor is a link to a member that left.
    const samples = trustedRttSamples([member('t', 1, false, 'trusted', { x: 3, gone: 9 }), member('x', 1, false, undefined, { t: 0.001 })]);
    expect(samples).toEqual([{ a: 't', b: 'x', rttMs: 3 }]);
  });
});
