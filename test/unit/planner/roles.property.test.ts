import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkPlan } from '../../../shared/planner/check-plan.ts';
import type { Member } from '../../../shared/planner/member.ts';
import { planPartition } from '../../../shared/planner/plan-partition.ts';
import { movedLayers, type Plan } from '../../../shared/planner/plan.ts';
import { tokenExposure } from '../../../shared/planner/roles.ts';
import { FC, feasibleByBruteForce, member, membersArb, permute, referenceQuotas, shapeArb, speedArb } from './fixtures.ts';

const roleArb = fc.constantFrom<Member['role']>(undefined, undefined, 'contributor', 'trusted');
const trusted = (m: Member): boolean => m.role === 'trusted';
const anyone = (): boolean => true;

/** Small rooms (brute force is the oracle) with a mix of trusted members and contributors. */
const small = shapeArb.chain((s) => fc.record({ s: fc.constant(s), members: membersArb(s, { maxMembers: 5, role: roleArb }) }));
const larger = shapeArb.chain((s) => fc.record({ s: fc.constant(s), members: membersArb(s, { maxMembers: 10, role: roleArb }) }));

function endsOf(plan: Plan, members: readonly Member[]): { first: Member; last: Member } {
  const byId = new Map(members.map((m) => [m.peerId as string, m]));
  return { first: byId.get(plan.ring[0]!.peerId)!, last: byId.get(plan.ring.at(-1)!.peerId)! };
}

describe('planPartition: roles', () => {
  it('puts trusted members at both ends whenever some ring allows it, else at stage 0 when some ring allows that', () => {
    fc.assert(
      fc.property(small, ({ s, members }) => {
        const r = planPartition(s, members);
        // Roles never change whether a plan exists.
        expect(r.kind === 'planned').toBe(feasibleByBruteForce(s, members));
        if (r.kind !== 'planned') return;
        const { first, last } = endsOf(r.plan, members);
        if (feasibleByBruteForce(s, members, { first: trusted, last: trusted })) {
          expect(trusted(first) && trusted(last)).toBe(true);
          expect(tokenExposure(r.plan, members)).toEqual([]);
        } else if (feasibleByBruteForce(s, members, { first: trusted, last: anyone })) {
          expect(trusted(first)).toBe(true);
        }
      }),
      FC,
    );
  });

  it('stays within every budget, each member once, counts within one layer of their capped share', () => {
    fc.assert(
      fc.property(larger, ({ s, members }) => {
        const r = planPartition(s, members);
        if (r.kind !== 'planned') return;
        checkPlan(s, members, r.plan);
        const ids = [...r.plan.ring.map((x) => x.peerId), ...r.plan.seeders.map((x) => x.peerId)].sort();
        expect(ids).toEqual(members.map((m) => m.peerId).sort());
        const q = referenceQuotas(s, members, r.plan);
        r.plan.ring.forEach((st, i) => expect(Math.abs(st.end - st.start - (q[i] as number))).toBeLessThan(1 + 1e-6));
      }),
      FC,
    );
  });

  it('gives the same plan for the same members in any order', () => {
    fc.assert(
      fc.property(larger, fc.array(fc.integer(), { minLength: 1, maxLength: 12 }), ({ s, members }, keys) => {
        expect(planPartition(s, permute(members, keys))).toEqual(planPartition(s, members));
      }),
      FC,
    );
  });

  it('plans a room without trusted members, or with only trusted ones, exactly as without roles', () => {
    fc.assert(
      fc.property(larger, fc.boolean(), ({ s, members }, allTrusted) => {
        const bare = members.map((m) => member(m.peerId, m.memoryBytes, m.speedMsPerLayer, m.kind));
        const roled = members.map((m) =>
          member(m.peerId, m.memoryBytes, m.speedMsPerLayer, m.kind, allTrusted ? 'trusted' : m.role === 'trusted' ? undefined : m.role),
        );
        const before = planPartition(s, bare);
        expect(planPartition(s, roled)).toEqual(before);
        if (before.kind === 'planned' && roled.length > 1) {
          const next = roled.slice(1);
          expect(planPartition(s, next, before.plan)).toEqual(planPartition(s, bare.slice(1), before.plan));
        }
      }),
      FC,
    );
  });

  it('re-plans keep the ends as private as a fresh plan, move no more than it, and are deterministic', () => {
    const joinOrLeave = shapeArb.chain((s) =>
      fc.record({
        s: fc.constant(s),
        members: membersArb(s, { maxMembers: 8, role: roleArb }),
        joiner: fc.record({
          memoryBytes: fc.integer({ min: 0, max: s.numLayers * (s.bytesPerLayer + s.kvBytesPerTokenPerLayer * s.contextTokens) + s.embedBytes + s.headBytes }),
          speed: speedArb,
          role: roleArb,
        }),
        leave: fc.nat(),
        join: fc.boolean(),
        keys: fc.array(fc.integer(), { minLength: 1, maxLength: 9 }),
      }),
    );
    fc.assert(
      fc.property(joinOrLeave, ({ s, members, joiner, leave, join, keys }) => {
        const before = planPartition(s, members);
        if (before.kind !== 'planned' || (!join && members.length === 0)) return;
        const next = join
          ? [...members, member('zz-new', joiner.memoryBytes, joiner.speed, 'node', joiner.role)]
          : members.filter((_, i) => i !== leave % members.length);
        const replan = planPartition(s, next, before.plan);
        const scratch = planPartition(s, next);
        expect(replan.kind).toBe(scratch.kind);
        if (replan.kind !== 'planned' || scratch.kind !== 'planned') return;
        checkPlan(s, next, replan.plan);
        const a = endsOf(replan.plan, next);
        const b = endsOf(scratch.plan, next);
        expect([trusted(a.first), trusted(a.last)]).toEqual([trusted(b.first), trusted(b.last)]);
        expect(movedLayers(before.plan, replan.plan)).toBeLessThanOrEqual(movedLayers(before.plan, scratch.plan));
        expect(planPartition(s, permute(next, keys), before.plan)).toEqual(replan);
        // Unchanged members: nothing moves.
        expect(planPartition(s, permute(next, keys), replan.plan)).toEqual(replan);
      }),
      FC,
    );
  });
});
