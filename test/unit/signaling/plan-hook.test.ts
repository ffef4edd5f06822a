import { describe, expect, it } from 'vitest';
import { asPeerId, asRoomId } from '../../../shared/ids.ts';
import type { ModelShape } from '../../../shared/planner/model-shape.ts';
import { MODEL_REPORT, type PlannedRing } from '../../../shared/ring/ring-plan.ts';
import type { Capabilities } from '../../../shared/signaling/protocol.ts';
import type { MemberView } from '../../../signaling/options.ts';
import { createRingPlanHook } from '../../../signaling/plan-hook.ts';

const shape: ModelShape = { numLayers: 12, bytesPerLayer: 1000, embedBytes: 500, headBytes: 500, kvBytesPerTokenPerLayer: 10, contextTokens: 10 };
// Rooms are named by their model: the hook plans only the model whose id is the room id.
const room = asRoomId('abc');

function member(id: string, memoryBytes: number, reportsModel = false): MemberView {
  const capabilities: Capabilities = { kind: 'node', engine: 'cpu', memoryBytes, modelsHeld: [], modelsWanted: [] };
  const reports = new Map<string, { epoch: number; data: unknown }>();
  if (reportsModel) reports.set(MODEL_REPORT, { epoch: 1, data: { modelId: 'abc', shape } });
  return { peerId: asPeerId(id), capabilities, reports, joinedAt: 0 };
}

const counts = (p: PlannedRing): Record<string, number> => Object.fromEntries(p.ring.map((s) => [s.peerId, s.end - s.start]));

describe('the ring plan hook', () => {
  it('plans nothing until a member reported the model shape', () => {
    expect(createRingPlanHook()(room, [member('a', 1e9)], 1)).toBeUndefined();
  });

  it('splits layers in proportion to memory budgets', () => {
    const plan = createRingPlanHook()(room, [member('a', 1e6, true), member('b', 2e6), member('c', 1e6)], 2) as PlannedRing;
    expect(plan.kind).toBe('planned');
    expect(counts(plan)).toEqual({ a: 3, b: 6, c: 3 });
  });

  it('re-plans from its previous plan: a leaving peer moves only about its own layers', () => {
    const hook = createRingPlanHook();
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
});
