// The ring plan hook plans only the room's model, from verified reports, and passes roles through.
import { describe, expect, it } from 'vitest';
import { asPeerId, asRoomId } from '../../../shared/ids.ts';
import type { ModelShape } from '../../../shared/planner/model-shape.ts';
import { MODEL_REPORT, type PlannedRing } from '../../../shared/ring/ring-plan.ts';
import { SPEED_REPORT } from '../../../shared/ring/speed-report.ts';
import type { MemberRole } from '../../../shared/signaling/protocol.ts';
import type { MemberView } from '../../../signaling/options.ts';
import { createRingPlanHook, plannerMembers, roomModel } from '../../../signaling/plan-hook.ts';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const shape = (contextTokens: number): ModelShape => ({
  numLayers: 8,
  bytesPerLayer: 1000,
  embedBytes: 500,
  headBytes: 500,
  kvBytesPerTokenPerLayer: 10,
  contextTokens,
});

function member(id: string, model?: { modelId: string; shape: ModelShape }, role?: MemberRole, speedMsPerLayer?: number): MemberView {
  const reports = new Map<string, { epoch: number; data: unknown }>();
  if (model) reports.set(MODEL_REPORT, { epoch: 1, data: model });
  const capabilities = {
    kind: 'node' as const,
    engine: 'cpu' as const,
    memoryBytes: 1e6,
    modelsHeld: [],
    modelsWanted: [],
    ...(speedMsPerLayer === undefined ? {} : { speedMsPerLayer }),
  };
  return { peerId: asPeerId(id), capabilities, reports, joinedAt: 0, ...(role ? { role } : {}) };
}

describe('the plan hook and the room model', () => {
  it('ignores a report for another model, even from the first member', () => {
    const members = [member('x', { modelId: B, shape: { ...shape(10), numLayers: 1 } }), member('y', { modelId: A, shape: shape(10) })];
    const plan = createRingPlanHook()(asRoomId(A), members, 1) as PlannedRing;
    expect(plan).toMatchObject({ kind: 'planned', modelId: A, numLayers: 8 });
    expect(createRingPlanHook()(asRoomId(A), [members[0]!], 1)).toBeUndefined();
  });

  it('plans an operator-assigned model in a room not named by it', () => {
    const members = [member('y', { modelId: A, shape: shape(10) })];
    expect(createRingPlanHook()(asRoomId('lobby'), members, 1)).toBeUndefined();
    expect(createRingPlanHook({ roomModels: new Map([['lobby', A]]) })(asRoomId('lobby'), members, 1)).toMatchObject({ kind: 'planned', modelId: A });
  });

  it('plans the largest context any member serves (a member can only make the plan reserve more KV)', () => {
    const m = roomModel(asRoomId(A), [member('x', { modelId: A, shape: shape(1) }), member('y', { modelId: A, shape: shape(64) })]);
    expect(m?.shape.contextTokens).toBe(64);
  });

  it('passes each member role to the planner (absent: contributor)', () => {
    expect(plannerMembers([member('t', undefined, 'trusted'), member('c')]).map((m) => [m.peerId, m.role])).toEqual([
      ['t', 'trusted'],
      ['c', 'contributor'],
    ]);
  });

  it('never believes a contributor faster than the trusted members (their median), or than the default without any', () => {
    const speeds = (ms: MemberView[]) => plannerMembers(ms).map((m) => m.speedMsPerLayer);
    expect(
      speeds([
        member('t1', undefined, 'trusted', 4),
        member('t2', undefined, 'trusted', 6),
        member('t3', undefined, 'trusted', 8),
        member('c', undefined, undefined, 0.001),
      ]),
    ).toEqual([4, 6, 8, 6]);
    expect(speeds([member('c', undefined, undefined, 1e-9), member('d', undefined, undefined, 9)])).toEqual([1, 9]); // slower claims stand
  });

  it('plans a contributor at the speed trusted members measured (median of their speed reports), whatever it claims', () => {
    const withSpeed = (m: MemberView, measured: { peer: string; msPerLayer: number }[]): MemberView => {
      (m.reports as Map<string, { epoch: number; data: unknown }>).set(SPEED_REPORT, {
        epoch: 1,
        data: { measured: measured.map((e) => ({ ...e, samples: 10 })) },
      });
      return m;
    };
    const members = [
      withSpeed(member('t1', undefined, 'trusted', 2), [{ peer: 'c', msPerLayer: 9 }]),
      withSpeed(member('t2', undefined, 'trusted', 2), [
        { peer: 'c', msPerLayer: 7 },
        { peer: 't1', msPerLayer: 100 },
      ]),
      withSpeed(member('c', undefined, undefined, 0.001), [{ peer: 'd', msPerLayer: 0.001 }]), // a contributor's report counts for nothing
      member('d', undefined, undefined, 3),
    ];
    expect(plannerMembers(members).map((m) => [m.peerId, m.speedMsPerLayer])).toEqual([
      ['t1', 2],
      ['t2', 2],
      ['c', 7],
      ['d', 3],
    ]);
  });
});
