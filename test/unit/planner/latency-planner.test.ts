import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asPeerId } from '../../../shared/ids.ts';
import { expectedMsPerToken } from '../../../shared/planner/latency-cost.ts';
import type { Member } from '../../../shared/planner/member.ts';
import { stageBytes, type ModelShape } from '../../../shared/planner/model-shape.ts';
import { planPartition } from '../../../shared/planner/plan-partition.ts';
import { planRoom } from '../../../shared/planner/plan-room.ts';
import { checkRoomPlan, type RoomPlan, type RoomPlanResult } from '../../../shared/planner/room-plan.ts';
import type { RttSample } from '../../../shared/planner/rtt.ts';
import { FC, capAt, feasibleByBruteForce, member, membersArb, permute, shapeArb, speedArb } from './fixtures.ts';

/** Round trips for some pairs of `members`, from fast-check's picks. */
function rttArb(members: readonly Member[]): fc.Arbitrary<RttSample[]> {
  if (members.length < 2) return fc.constant([]);
  const pair = fc.record({
    i: fc.nat(members.length - 1),
    j: fc.nat(members.length - 1),
    rttMs: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 200, noNaN: true })),
  });
  return fc
    .array(pair, { maxLength: 12 })
    .map((ps) => ps.filter((p) => p.i !== p.j).map((p) => ({ a: members[p.i]!.peerId, b: members[p.j]!.peerId, rttMs: p.rttMs })));
}

const caseArb = shapeArb.chain((s) =>
  membersArb(s, { maxMembers: 7 }).chain((members) =>
    fc.record({ s: fc.constant(s), members: fc.constant(members), rtt: rttArb(members), defaultRttMs: fc.constantFrom(undefined, 0, 1, 40) }),
  ),
);

function planned(r: RoomPlanResult): RoomPlan {
  if (r.kind !== 'planned') throw new Error(`expected a plan, got ${JSON.stringify(r)}`);
  return r.plan;
}

/** Brute force: the fewest stages of any ring that holds the model (Infinity if none). */
function minStages(s: ModelShape, members: readonly Member[]): number {
  let best = Infinity;
  const n = members.length;
  for (let mask = 1; mask < 1 << n; mask++) {
    const set = members.filter((_, i) => (mask >> i) & 1);
    const k = set.length;
    if (k >= best || k > s.numLayers) continue;
    if (k === 1 && capAt(s, set[0]!.memoryBytes, true, true) >= s.numLayers) best = 1;
    const middle = set.reduce((a, m) => a + capAt(s, m.memoryBytes, false, false), 0);
    for (const f of set) {
      for (const l of set) {
        if (k < 2 || f === l || set.some((m) => capAt(s, m.memoryBytes, false, false) < 1)) continue;
        const cf = capAt(s, f.memoryBytes, true, false);
        const cl = capAt(s, l.memoryBytes, false, true);
        const total = middle - capAt(s, f.memoryBytes, false, false) - capAt(s, l.memoryBytes, false, false) + cf + cl;
        if (cf >= 1 && cl >= 1 && total >= s.numLayers) best = Math.min(best, k);
      }
    }
  }
  return best;
}

describe('planRoom: latency-aware placement and replica rings', () => {
  it('is valid: every ring covers the layers within budgets, rings are disjoint, everyone is placed once', () => {
    fc.assert(
      fc.property(caseArb, ({ s, members, rtt, defaultRttMs }) => {
        const r = planRoom(s, members, { rttMs: rtt, ...(defaultRttMs === undefined ? {} : { defaultRttMs }) });
        expect(r.kind).toBe(planPartition(s, members).kind); // insufficient exactly as today
        if (r.kind !== 'planned') return;
        checkRoomPlan(s, members, r.plan);
        const ids = [...r.plan.rings.flatMap((x) => x.ring.map((st) => st.peerId)), ...r.plan.seeders.map((x) => x.peerId)].sort();
        expect(ids).toEqual(members.map((m) => m.peerId).sort());
        for (const ring of r.plan.rings) for (const st of ring.ring) expect(st.reservedBytes).toBe(stageBytes(s, st.start, st.end));
      }),
      FC,
    );
  });

  it('is never slower, by its own cost model, than the memory-proportional ring', () => {
    fc.assert(
      fc.property(caseArb, ({ s, members, rtt, defaultRttMs }) => {
        const r = planRoom(s, members, { rttMs: rtt, ...(defaultRttMs === undefined ? {} : { defaultRttMs }) });
        const today = planPartition(s, members);
        if (r.kind !== 'planned' || today.kind !== 'planned') return;
        const ms = expectedMsPerToken(members, r.plan.ring, rtt, defaultRttMs);
        expect(ms).toBeLessThanOrEqual(expectedMsPerToken(members, today.plan.ring, rtt, defaultRttMs) * (1 + 1e-9));
        expect(r.plan.rings[0]!.msPerToken).toBeCloseTo(ms, 6);
      }),
      FC,
    );
  });

  it('gives the same plan for the same members and round trips in any order', () => {
    fc.assert(
      fc.property(caseArb, fc.array(fc.integer(), { minLength: 1, maxLength: 12 }), ({ s, members, rtt }, keys) => {
        const flipped = permute(rtt, keys).map((x, i) => (i % 2 === 0 ? { a: x.b, b: x.a, rttMs: x.rttMs } : x));
        expect(planRoom(s, permute(members, keys), { rttMs: flipped })).toEqual(planRoom(s, members, { rttMs: rtt }));
      }),
      FC,
    );
  });

  it('plans one one-stage ring per member when each can hold the model at equal speed', () => {
    const arb = shapeArb.chain((s) =>
      fc.record({
        s: fc.constant(s),
        units: fc.uniqueArray(fc.record({ id: fc.stringMatching(/^[a-z]{1,4}$/), units: fc.integer({ min: 1, max: 4 }) }), {
          selector: (m) => m.id,
          minLength: 1,
          maxLength: 8,
        }),
        speed: speedArb,
        defaultRttMs: fc.constantFrom(undefined, 0, 5, 40),
      }),
    );
    fc.assert(
      fc.property(arb, ({ s, units, speed, defaultRttMs }) => {
        const whole = stageBytes(s, 0, s.numLayers);
        const members = units.map((u) => member(u.id, u.units * whole, speed));
        const plan = planned(planRoom(s, members, defaultRttMs === undefined ? {} : { defaultRttMs }));
        expect(plan.rings).toHaveLength(members.length);
        for (const r of plan.rings) expect(r.ring).toHaveLength(1);
        expect(plan.seeders).toEqual([]);
      }),
      FC,
    );
  });

  it('forms no replica less private than the rings before it: contributors never hold both ends beside a trusted ring', () => {
    const arb = shapeArb.chain((s) =>
      fc.record({ s: fc.constant(s), trusted: fc.integer({ min: 1, max: 3 }), contributors: fc.integer({ min: 1, max: 4 }), speed: speedArb }),
    );
    fc.assert(
      fc.property(arb, ({ s, trusted, contributors, speed }) => {
        const whole = stageBytes(s, 0, s.numLayers);
        const members = [
          ...Array.from({ length: trusted }, (_, i) => member(`t${i}`, whole, speed, 'node', 'trusted')),
          ...Array.from({ length: contributors }, (_, i) => member(`c${i}`, whole, speed, 'node', 'contributor')),
        ];
        const plan = planned(planRoom(s, members));
        // Every member can hold the model alone: each trusted one is a ring, no contributor is.
        expect(plan.rings).toHaveLength(trusted);
        for (const r of plan.rings) for (const st of r.ring) expect(st.peerId.startsWith('t')).toBe(true);
      }),
      FC,
    );
  });

  it('with high round trips uses the fewest stages any ring can, never more than with none', () => {
    fc.assert(
      fc.property(caseArb, ({ s, members }) => {
        const far = planRoom(s, members, { defaultRttMs: 1e7 });
        if (far.kind !== 'planned') return;
        expect(far.plan.ring.length).toBe(minStages(s, members));
        expect(far.plan.ring.length).toBeLessThanOrEqual(planned(planRoom(s, members, { defaultRttMs: 0 })).ring.length);
      }),
      FC,
    );
  });

  it('leaves out a member too slow to be worth a hop', () => {
    fc.assert(
      fc.property(caseArb, fc.nat(), ({ s, members, rtt }, pick) => {
        if (members.length < 2 || planPartition(s, members.slice(1)).kind !== 'planned') return;
        // Even one of its layers costs more than twice any ring of the others could.
        const others = members.slice(1);
        const worst = s.numLayers * Math.max(...others.map((m) => m.speedMsPerLayer)) + members.length * 100;
        const slow = member(members[0]!.peerId, members[0]!.memoryBytes, 10 * worst);
        const room = permute([slow, ...others], [pick]);
        const plan = planned(planRoom(s, room, { rttMs: rtt }));
        expect(plan.rings.some((r) => r.ring.some((st) => st.peerId === slow.peerId))).toBe(false);
      }),
      FC,
    );
  });

  it('puts trusted members at both ends of the first ring whenever some ring allows it, else at stage 0 when one allows that', () => {
    const roleArb = fc.constantFrom<Member['role']>(undefined, 'contributor', 'trusted');
    const arb = shapeArb.chain((s) => fc.record({ s: fc.constant(s), members: membersArb(s, { maxMembers: 5, role: roleArb }) }));
    const trusted = (m: Member): boolean => m.role === 'trusted';
    fc.assert(
      fc.property(arb, ({ s, members }) => {
        const r = planRoom(s, members);
        if (r.kind !== 'planned') return;
        const byId = new Map(members.map((m) => [m.peerId as string, m]));
        const first = byId.get(r.plan.ring[0]!.peerId)!;
        const last = byId.get(r.plan.ring.at(-1)!.peerId)!;
        if (feasibleByBruteForce(s, members, { first: trusted, last: trusted })) expect(trusted(first) && trusted(last)).toBe(true);
        else if (feasibleByBruteForce(s, members, { first: trusted, last: () => true })) expect(trusted(first)).toBe(true);
      }),
      FC,
    );
  });

  it('places rings within sites when round trips between sites are long', () => {
    const s = { numLayers: 8, bytesPerLayer: 100, embedBytes: 0, headBytes: 0, kvBytesPerTokenPerLayer: 0, contextTokens: 1 };
    const members = ['a', 'b', 'c', 'd'].map((id) => member(id, 400));
    const near = (x: string, y: string): boolean => x < 'c' === y < 'c';
    const rttMs: RttSample[] = [];
    for (const x of members)
      for (const y of members) if (x.peerId < y.peerId) rttMs.push({ a: x.peerId, b: y.peerId, rttMs: near(x.peerId, y.peerId) ? 1 : 80 });
    const plan = planned(planRoom(s, members, { rttMs }));
    expect(plan.rings.map((r) => r.ring.map((st) => st.peerId).sort())).toEqual([
      [asPeerId('a'), asPeerId('b')],
      [asPeerId('c'), asPeerId('d')],
    ]);
  });
});
