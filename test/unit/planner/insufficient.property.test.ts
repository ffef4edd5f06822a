import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planPartition } from '../../../shared/planner/plan-partition.ts';
import { FC, feasibleByBruteForce, member, membersArb, shapeArb } from './fixtures.ts';

const small = shapeArb.chain((s) => fc.record({ s: fc.constant(s), members: membersArb(s, { maxMembers: 5 }) }));

describe('planPartition: insufficient memory', () => {
  it('plans exactly when some ring can hold the model (brute force over orders)', () => {
    fc.assert(
      fc.property(small, ({ s, members }) => {
        expect(planPartition(s, members).kind === 'planned').toBe(feasibleByBruteForce(s, members));
      }),
      FC,
    );
  });

  it('names the exact budget one more peer needs: enough with it, not enough with a byte less', () => {
    fc.assert(
      fc.property(small, speedOf(), ({ s, members }, speed) => {
        const r = planPartition(s, members);
        if (r.kind !== 'insufficient') return;
        expect(r.missingBytes).toBeGreaterThan(0);
        expect(r.requiredBytes).toBe(s.numLayers * (s.bytesPerLayer + s.kvBytesPerTokenPerLayer * s.contextTokens) + s.embedBytes + s.headBytes);
        expect(planPartition(s, [...members, member('zz', r.missingBytes, speed)]).kind).toBe('planned');
        expect(planPartition(s, [...members, member('zz', r.missingBytes - 1, speed)]).kind).toBe('insufficient');
      }),
      FC,
    );
  });
});

function speedOf(): fc.Arbitrary<number> {
  return fc.constantFrom(0.5, 1, 9);
}
