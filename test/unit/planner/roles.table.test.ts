import { describe, expect, it } from 'vitest';
import { InvalidPlanInputError } from '../../../shared/planner/errors.ts';
import type { Member } from '../../../shared/planner/member.ts';
import { planPartition } from '../../../shared/planner/plan-partition.ts';
import { movedLayers, type Plan } from '../../../shared/planner/plan.ts';
import { tokenExposure } from '../../../shared/planner/roles.ts';
import { member, planned, shape } from './fixtures.ts';

const ring = (plan: Plan): string[] => plan.ring.map((x) => `${x.peerId}:${x.start}-${x.end}`);
const trusted = (id: string, memoryBytes: number): Member => member(id, memoryBytes, 1, 'node', 'trusted');

describe('planPartition: roles, fresh plans', () => {
  // 12 layers of 100 B, embed and head 50 B each: 1000 B holds 9 layers at an end.
  const s = shape({ numLayers: 12, embedBytes: 50, headBytes: 50 });
  const abc = ['a', 'b', 'c'].map((id) => member(id, 1000));

  it('two trusted members: one embeds, one holds the head, contributors in the middle', () => {
    const members = [...abc, trusted('t1', 1000), trusted('t2', 1000)];
    const plan = planned(planPartition(s, members));
    expect(ring(plan)).toEqual(['t1:0-2', 'a:2-5', 'b:5-8', 'c:8-10', 't2:10-12']);
    expect(tokenExposure(plan, members)).toEqual([]);
    // Without roles the same members are laid out in id order.
    expect(
      ring(
        planned(
          planPartition(
            s,
            members.map((m) => member(m.peerId, m.memoryBytes)),
          ),
        ),
      ),
    ).toEqual(['a:0-3', 'b:3-6', 'c:6-8', 't1:8-10', 't2:10-12']);
  });

  it('one trusted member that holds the whole model runs it alone; contributors only seed', () => {
    const members = [...abc, trusted('t', 1300)];
    const plan = planned(planPartition(s, members));
    expect(ring(plan)).toEqual(['t:0-12']);
    expect(plan.seeders.map((x) => `${x.peerId}:${x.reason}`)).toEqual(['a:not-needed', 'b:not-needed', 'c:not-needed']);
    expect(tokenExposure(plan, members)).toEqual([]);
  });

  it('one trusted member that cannot hold the model embeds; the contributor holding the head sees outputs', () => {
    const members = [...abc, trusted('t', 600)];
    const plan = planned(planPartition(s, members));
    expect(ring(plan)).toEqual(['t:0-2', 'a:2-6', 'b:6-9', 'c:9-12']);
    expect(tokenExposure(plan, members)).toEqual([{ peerId: 'c', sees: 'output-ids' }]);
  });

  it('a trusted member without room for the embedding changes nothing', () => {
    // 120 B holds one layer in the middle but not one layer plus the 50 B embedding.
    const members = [...abc, trusted('t', 120)];
    const plan = planned(planPartition(s, members));
    expect(plan).toEqual(
      planned(
        planPartition(
          s,
          members.map((m) => member(m.peerId, m.memoryBytes)),
        ),
      ),
    );
    expect(tokenExposure(plan, members)).toEqual([
      { peerId: 'a', sees: 'prompt-and-output-ids' },
      { peerId: 'c', sees: 'output-ids' },
    ]);
  });

  it('two trusted members with room for the embedding only: one embeds, a contributor holds the head', () => {
    const s2 = shape({ numLayers: 12, embedBytes: 50, headBytes: 900 });
    const members = [...abc, trusted('t1', 400), trusted('t2', 400)]; // 400 B < head + one layer
    const plan = planned(planPartition(s2, members));
    expect(plan.ring[0]?.peerId).toMatch(/^t/);
    expect(['a', 'b', 'c']).toContain(plan.ring.at(-1)?.peerId);
  });

  it('rejects an unknown role', () => {
    const bad = { ...member('a', 1000), role: 'admin' } as unknown as Member;
    expect(() => planPartition(s, [bad])).toThrow(InvalidPlanInputError);
  });
});

describe('planPartition: roles, joins and leaves', () => {
  const s = shape({ numLayers: 40, embedBytes: 50, headBytes: 50 });
  const abc = ['a', 'b', 'c'].map((id) => member(id, 10_000));

  it('a trusted joiner takes stage 0, a second one the head; the move bound against a fresh plan holds', () => {
    const p0 = planned(planPartition(s, abc));
    const withT = [...abc, trusted('t', 2000)];
    const p1 = planned(planPartition(s, withT, p0));
    expect(ring(p1)).toEqual(['t:0-2', 'a:2-14', 'b:14-27', 'c:27-40']);
    expect(movedLayers(p0, p1)).toBe(2); // fresh: 4
    expect(movedLayers(p0, p1)).toBeLessThanOrEqual(movedLayers(p0, planned(planPartition(s, withT))));

    const withU = [...withT, trusted('u', 2000)];
    const p2 = planned(planPartition(s, withU, p1));
    expect(ring(p2)).toEqual(['t:0-2', 'a:2-14', 'b:14-26', 'c:26-38', 'u:38-40']);
    expect(movedLayers(p1, p2)).toBe(3);

    // The first trusted member leaves: the other moves from the head to stage 0.
    const p3 = planned(
      planPartition(
        s,
        withU.filter((m) => m.peerId !== 't'),
        p2,
      ),
    );
    expect(ring(p3)).toEqual(['u:0-2', 'a:2-14', 'b:14-27', 'c:27-40']);
  });

  it('a trusted joiner that holds the whole model takes it all: every layer moves, by design', () => {
    const p0 = planned(planPartition(s, abc));
    const p1 = planned(planPartition(s, [...abc, trusted('t', 10_000)], p0));
    expect(ring(p1)).toEqual(['t:0-40']);
    expect(movedLayers(p0, p1)).toBe(40); // a contributor joining instead moves 13
  });
});
