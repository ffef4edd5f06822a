import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Member } from '../../../shared/planner/member.ts';
import { stageBytes } from '../../../shared/planner/model-shape.ts';
import { planPartition } from '../../../shared/planner/plan-partition.ts';
import { planRoom } from '../../../shared/planner/plan-room.ts';
import { checkRoomPlan, type RoomPlan, type RoomPlanResult } from '../../../shared/planner/room-plan.ts';
import { FC, member, membersArb, permute, shape, shapeArb, speedArb } from './fixtures.ts';

function planned(r: RoomPlanResult): RoomPlan {
  if (r.kind !== 'planned') throw new Error(`expected a plan, got ${JSON.stringify(r)}`);
  return r.plan;
}

const ids = (p: RoomPlan): string[][] => p.rings.map((r) => r.ring.map((s) => `${s.peerId}:${s.start}-${s.end}`));

const changeArb = shapeArb.chain((s) =>
  fc.record({
    s: fc.constant(s),
    members: membersArb(s, { maxMembers: 6 }),
    joiner: fc.record({ memoryBytes: fc.integer({ min: 0, max: stageBytes(s, 0, s.numLayers) * 2 }), speed: speedArb }),
    leave: fc.nat(),
    defaultRttMs: fc.constantFrom(0, 2, 40),
  }),
);

/** Every previous ring is in `after` unchanged (same stages, same order among the kept). */
function keptAll(before: RoomPlan, after: RoomPlan, gone?: string): boolean {
  const now = new Set(ids(after).map((r) => r.join(' ')));
  return ids(before)
    .filter((r) => gone === undefined || !r.some((st) => st.startsWith(`${gone}:`)))
    .every((r) => now.has(r.join(' ')));
}

describe('planRoom: re-planning (few moves)', () => {
  it('moves nothing when the members are unchanged, in any order', () => {
    fc.assert(
      fc.property(changeArb, fc.array(fc.integer(), { minLength: 1, maxLength: 9 }), ({ s, members, defaultRttMs }, keys) => {
        const first = planRoom(s, members, { defaultRttMs });
        if (first.kind !== 'planned') return;
        expect(planRoom(s, permute(members, keys), { defaultRttMs, previous: first.plan })).toEqual(first);
      }),
      FC,
    );
  });

  it('on a join keeps every ring, or re-plans from scratch when that gains more than the rule allows', () => {
    fc.assert(
      fc.property(changeArb, ({ s, members, joiner, defaultRttMs }) => {
        const before = planRoom(s, members, { defaultRttMs });
        if (before.kind !== 'planned') return;
        const next = [...members, member('zz-new', joiner.memoryBytes, joiner.speed)];
        const after = planned(planRoom(s, next, { defaultRttMs, previous: before.plan }));
        const scratch = planned(planRoom(s, next, { defaultRttMs }));
        checkRoomPlan(s, next, after);
        const fastest = (p: RoomPlan): number => Math.min(...p.rings.map((r) => r.msPerToken));
        if (keptAll(before.plan, after)) {
          expect(after.rings.length).toBeGreaterThanOrEqual(scratch.rings.length);
          expect(fastest(after)).toBeLessThanOrEqual(fastest(scratch) * 1.1 + 1e-9);
        } else {
          expect(after).toEqual(scratch);
        }
      }),
      FC,
    );
  });

  it('on a leave keeps every ring the member was not in, or re-plans from scratch', () => {
    fc.assert(
      fc.property(changeArb, ({ s, members, leave, defaultRttMs }) => {
        const before = planRoom(s, members, { defaultRttMs });
        if (before.kind !== 'planned') return;
        const gone = members[leave % members.length]!.peerId;
        const after = planRoom(
          s,
          members.filter((m) => m.peerId !== gone),
          { defaultRttMs, previous: before.plan },
        );
        if (after.kind !== 'planned') return;
        if (!keptAll(before.plan, after.plan, gone))
          expect(after).toEqual(
            planRoom(
              s,
              members.filter((m) => m.peerId !== gone),
              { defaultRttMs },
            ),
          );
      }),
      FC,
    );
  });

  it('adds a newcomer that holds the model as a replica ring without touching the existing one', () => {
    const s = shape({ numLayers: 8 });
    const half = [member('a', 400), member('b', 400)];
    const before = planned(planRoom(s, half));
    expect(ids(before)).toEqual([['a:0-4', 'b:4-8']]);
    const after = planned(planRoom(s, [...half, member('c', 800)], { previous: before }));
    expect(ids(after)).toEqual([['a:0-4', 'b:4-8'], ['c:0-8']]);
    // From scratch the one-stage ring is the faster, so it comes first.
    expect(ids(planned(planRoom(s, [...half, member('c', 800)])))).toEqual([['c:0-8'], ['a:0-4', 'b:4-8']]);
  });

  it('turns a memory-proportional ring of peers that each hold the model into one replica per peer', () => {
    const s = shape({ numLayers: 8 });
    const peers: Member[] = ['a', 'b', 'c', 'd'].map((id) => member(id, 800));
    const today = planPartition(s, peers);
    if (today.kind !== 'planned') throw new Error('expected a plan');
    expect(today.plan.ring).toHaveLength(4);
    const after = planned(planRoom(s, peers, { previous: today.plan, defaultRttMs: 40 }));
    expect(ids(after)).toEqual([['a:0-8'], ['b:0-8'], ['c:0-8'], ['d:0-8']]);
  });

  it('drops an old ring more than twice slower than a newcomer alone', () => {
    const s = shape({ numLayers: 8 });
    const before = planned(planRoom(s, [member('a', 400), member('b', 400)]));
    const after = planned(planRoom(s, [member('a', 400), member('b', 400), member('c', 800, 0.1)], { previous: before }));
    expect(ids(after)).toEqual([['c:0-8']]);
    expect(after.seeders.map((x) => x.reason)).toEqual(['not-needed', 'not-needed']);
  });
});
