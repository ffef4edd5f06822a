import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkPlan } from '../../../shared/planner/check-plan.ts';
import { planPartition } from '../../../shared/planner/plan-partition.ts';
import { movedLayers, stageOf } from '../../../shared/planner/plan.ts';
import { FC, member, membersArb, permute, planned, referenceQuotas, shapeArb, speedArb } from './fixtures.ts';

const joinOrLeave = shapeArb.chain((s) =>
  fc.record({
    s: fc.constant(s),
    members: membersArb(s, { maxMembers: 8 }),
    joiner: fc.record({
      memoryBytes: fc.integer({ min: 0, max: s.numLayers * (s.bytesPerLayer + s.kvBytesPerTokenPerLayer * s.contextTokens) }),
      speed: speedArb,
    }),
    leave: fc.nat(),
    join: fc.boolean(),
  }),
);

describe('re-planning with a previous plan', () => {
  it('moves no more layers than planning from scratch, and keeps every fresh-plan guarantee', () => {
    fc.assert(
      fc.property(joinOrLeave, ({ s, members, joiner, leave, join }) => {
        const before = planPartition(s, members);
        if (before.kind !== 'planned' || (!join && members.length === 0)) return;
        const next = join ? [...members, member('zz-new', joiner.memoryBytes, joiner.speed)] : members.filter((_, i) => i !== leave % members.length);
        const replan = planPartition(s, next, before.plan);
        const scratch = planPartition(s, next);
        expect(replan.kind).toBe(scratch.kind); // feasibility never depends on history
        if (replan.kind !== 'planned' || scratch.kind !== 'planned') return;
        checkPlan(s, next, replan.plan);
        expect(movedLayers(before.plan, replan.plan)).toBeLessThanOrEqual(movedLayers(before.plan, scratch.plan));
        const q = referenceQuotas(s, next, replan.plan);
        replan.plan.ring.forEach((st, i) => expect(Math.abs(st.end - st.start - (q[i] as number))).toBeLessThan(1 + 1e-6));
        // Lower bound every plan obeys: the departed member's layers, or the newcomer's, move.
        const changed = join ? stageOf(replan.plan, member('zz-new', 0).peerId) : stageOf(before.plan, (members[leave % members.length] ?? members[0])!.peerId);
        if (changed !== undefined) expect(movedLayers(before.plan, replan.plan)).toBeGreaterThanOrEqual(changed.end - changed.start);
      }),
      FC,
    );
  });

  it('moves nothing when the members are unchanged (re-planning is idempotent), in any order', () => {
    fc.assert(
      fc.property(
        shapeArb.chain((s) => fc.record({ s: fc.constant(s), members: membersArb(s) })),
        fc.array(fc.integer(), { minLength: 1, maxLength: 9 }),
        ({ s, members }, keys) => {
          const first = planPartition(s, members);
          if (first.kind !== 'planned') return;
          expect(planPartition(s, permute(members, keys), first.plan)).toEqual(first);
        },
      ),
      FC,
    );
  });

  it('is deterministic given the same members (any order) and the same previous plan', () => {
    fc.assert(
      fc.property(joinOrLeave, fc.array(fc.integer(), { minLength: 1, maxLength: 9 }), ({ s, members, joiner }, keys) => {
        const before = planPartition(s, members);
        if (before.kind !== 'planned') return;
        const next = [...members, member('zz-new', joiner.memoryBytes, joiner.speed)];
        expect(planPartition(s, permute(next, keys), before.plan)).toEqual(planPartition(s, next, before.plan));
      }),
      FC,
    );
  });

  it('keeps survivors in their previous ring order when budgets leave room for embed and head', () => {
    // Every member can hold the whole model, so the old order always stays feasible.
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 64 }),
        fc.uniqueArray(fc.record({ id: fc.stringMatching(/^[a-z]{1,3}$/), units: fc.integer({ min: 1, max: 5 }), speed: speedArb }), {
          selector: (m) => m.id,
          minLength: 2,
          maxLength: 10,
        }),
        fc.nat(),
        (numLayers, specs, pick) => {
          const s = { numLayers, bytesPerLayer: 10, embedBytes: 25, headBytes: 35, kvBytesPerTokenPerLayer: 1, contextTokens: 4 };
          const whole = numLayers * 14 + 60;
          const members = specs.map((m) => member(m.id, m.units * whole, m.speed));
          const before = planned(planPartition(s, members));
          const gone = members[pick % members.length]!.peerId;
          const after = planned(
            planPartition(
              s,
              members.filter((m) => m.peerId !== gone),
              before,
            ),
          );
          const survivors = before.ring.map((x) => x.peerId).filter((id) => after.ring.some((y) => y.peerId === id));
          expect(after.ring.map((x) => x.peerId).filter((id) => survivors.includes(id))).toEqual(survivors);
        },
      ),
      FC,
    );
  });
});
