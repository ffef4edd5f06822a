import { describe, expect, it } from 'vitest';
import { asPeerId } from '../../../shared/ids.ts';
import { checkPlan } from '../../../shared/planner/check-plan.ts';
import { InvalidPlanError } from '../../../shared/planner/errors.ts';
import type { Plan } from '../../../shared/planner/plan.ts';
import { member, shape } from './fixtures.ts';

const s = shape({ numLayers: 4, embedBytes: 10, headBytes: 20 });
const members = [member('a', 1000), member('b', 1000), member('c', 1000)];
const stage = (id: string, start: number, end: number) => ({ peerId: asPeerId(id), start, end, reservedBytes: 0 });
const plan = (ring: ReturnType<typeof stage>[], seeders: string[] = []): Plan => ({
  ring,
  seeders: seeders.map((id) => ({ peerId: asPeerId(id), reason: 'not-needed' as const })),
});

describe('checkPlan', () => {
  it('accepts a contiguous plan within budgets', () => {
    expect(() => checkPlan(s, members, plan([stage('a', 0, 2), stage('b', 2, 4)], ['c']))).not.toThrow();
  });

  it.each([
    { name: 'an empty ring', p: plan([]) },
    { name: 'a gap', p: plan([stage('a', 0, 1), stage('b', 2, 4)]) },
    { name: 'an overlap', p: plan([stage('a', 0, 3), stage('b', 2, 4)]) },
    { name: 'an empty stage', p: plan([stage('a', 0, 0), stage('b', 0, 4)]) },
    { name: 'missing last layers', p: plan([stage('a', 0, 3)]) },
    { name: 'a peer twice', p: plan([stage('a', 0, 2), stage('a', 2, 4)]) },
    { name: 'an unknown peer', p: plan([stage('a', 0, 2), stage('z', 2, 4)]) },
    { name: 'a stage over budget', p: plan([stage('a', 0, 2), stage('b', 2, 4)]), m: [member('a', 210), member('b', 219)] },
    { name: 'a stage that is also a seeder', p: plan([stage('a', 0, 4)], ['a']) },
  ])('rejects $name', ({ p, m }) => {
    expect(() => checkPlan(s, m ?? members, p)).toThrow(InvalidPlanError);
  });
});
