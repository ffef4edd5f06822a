import { describe, expect, it } from 'vitest';
import { planPartition, requirePlan } from '../../../shared/planner/plan-partition.ts';
import { movedLayers } from '../../../shared/planner/plan.ts';
import { DuplicateMemberError, InsufficientMemoryError, InvalidPlanInputError } from '../../../shared/planner/errors.ts';
import { counts, member, planned, shape } from './fixtures.ts';

const MB = 1_000_000;

describe('planPartition: layer counts', () => {
  it.each([
    { layers: 4, want: { a: 1, b: 2, c: 1 } },
    { layers: 8, want: { a: 2, b: 4, c: 2 } },
    { layers: 16, want: { a: 4, b: 8, c: 4 } },
  ])('budgets 1:2:1 over $layers layers give $want', ({ layers, want }) => {
    const s = shape({ numLayers: layers, bytesPerLayer: MB, embedBytes: 3 * MB, headBytes: 3 * MB, kvBytesPerTokenPerLayer: 10, contextTokens: 1000 });
    const plan = planned(planPartition(s, [member('a', 100 * MB), member('b', 200 * MB), member('c', 100 * MB)]));
    expect(counts(plan)).toEqual(want);
    expect(plan.ring.map((x) => [x.start, x.end])).toEqual([
      [0, want.a],
      [want.a, want.a + want.b],
      [want.a + want.b, layers],
    ]);
  });

  it.each([
    { speeds: [1, 1, 1], want: { a: 4, b: 4, c: 4 } },
    { speeds: [1, 1, 2], want: { a: 5, b: 5, c: 2 } }, // c twice as slow: 12·(1/2)/2.5 = 2.4 layers
    { speeds: [1, 1, 4], want: { a: 6, b: 5, c: 1 } }, // tie on remainders goes to the lower id
    { speeds: [2, 1, 1], want: { a: 2, b: 5, c: 5 } },
  ])('equal budgets with speeds $speeds give $want (the slow peer gets fewer layers)', ({ speeds, want }) => {
    const s = shape({ numLayers: 12 });
    const members = ['a', 'b', 'c'].map((id, i) => member(id, 10_000, speeds[i]));
    expect(counts(planned(planPartition(s, members)))).toEqual(want);
  });

  it('caps a stage at its budget and gives the rest to the others', () => {
    // a is the heaviest by speed but holds only 2 layers.
    const s = shape({ numLayers: 10 });
    expect(counts(planned(planPartition(s, [member('a', 250, 0.1), member('b', 1000), member('c', 1000)])))).toEqual({ a: 2, b: 4, c: 4 });
  });
});

describe('planPartition: seeders', () => {
  it('keeps a peer too small for one layer (weights + KV) as a "too-small" seeder', () => {
    const s = shape({ numLayers: 4, bytesPerLayer: 100, kvBytesPerTokenPerLayer: 1, contextTokens: 50 }); // 150 B per layer
    const plan = planned(planPartition(s, [member('a', 1000), member('b', 1000), member('tiny', 149)]));
    expect(plan.seeders).toEqual([{ peerId: 'tiny', reason: 'too-small' }]);
    expect(plan.ring.map((x) => x.peerId)).toEqual(['a', 'b']);
  });

  it('leaves peers whose share rounds to nothing as "not-needed" seeders', () => {
    const s = shape({ numLayers: 3 });
    const plan = planned(
      planPartition(
        s,
        ['a', 'b', 'c', 'd', 'e'].map((id) => member(id, 1000)),
      ),
    );
    expect(plan.ring.map((x) => x.peerId)).toEqual(['a', 'b', 'c']);
    expect(plan.seeders).toEqual([
      { peerId: 'd', reason: 'not-needed' },
      { peerId: 'e', reason: 'not-needed' },
    ]);
  });

  it('adds a peer with a tiny share when the others cannot hold the model without it', () => {
    const s = shape({ numLayers: 10 });
    const plan = planned(planPartition(s, [member('a', 500), member('b', 400), member('c', 100, 100)]));
    expect(counts(plan)).toEqual({ a: 5, b: 4, c: 1 });
  });
});

describe('planPartition: embed and head placement', () => {
  it('puts embed and head where there is room beyond the proportional share', () => {
    // a and c are filled exactly by their share; b has room for embed + head but two ends must differ.
    const s = shape({ numLayers: 6, embedBytes: 150, headBytes: 150 });
    const plan = planned(planPartition(s, [member('a', 200), member('b', 550), member('c', 200), member('d', 400)]));
    expect(plan.ring[0]?.start).toBe(0);
    const budgets: Record<string, number> = { a: 200, b: 550, c: 200, d: 400 };
    for (const st of plan.ring) expect(st.reservedBytes).toBeLessThanOrEqual(budgets[st.peerId] ?? 0);
    expect([plan.ring[0]?.peerId, plan.ring.at(-1)?.peerId].sort()).toEqual(['b', 'd']);
  });

  it('prefers node peers over browser tabs for the ends when nothing else decides', () => {
    const s = shape({ numLayers: 6 });
    const plan = planned(planPartition(s, [member('a', 1000, 1, 'browser'), member('b', 1000), member('c', 1000), member('d', 1000, 1, 'browser')]));
    expect(plan.ring.map((x) => x.peerId)).toEqual(['b', 'a', 'd', 'c']);
  });

  it('runs the whole model on one member when it is the only one', () => {
    const s = shape({ numLayers: 4, embedBytes: 10, headBytes: 20 });
    expect(planned(planPartition(s, [member('a', 430)])).ring).toEqual([{ peerId: 'a', start: 0, end: 4, reservedBytes: 430 }]);
  });
});

describe('planPartition: insufficient memory', () => {
  it.each([
    { name: 'no members', members: [], missing: 800 + 50 + 70 },
    // 2 × 300 B: each holds 3 layers in the middle, 2 as first (embed 50) or last (head 70).
    // A new first stage (embed) leaves them middle (3) + last (2): it needs embed + 3 layers.
    { name: 'two small peers', members: [member('a', 300), member('b', 300)], missing: 50 + 300 },
    // One big peer can be first (embed) with 7 layers; a new last stage needs head + 1 layer.
    { name: 'one layer short', members: [member('a', 750)], missing: 70 + 100 },
    { name: 'only tiny peers', members: [member('a', 99), member('b', 99)], missing: 920 },
  ])('$name: reports exactly $missing missing bytes', ({ members, missing }) => {
    const s = shape({ numLayers: 8, embedBytes: 50, headBytes: 70 });
    const r = planPartition(s, members);
    expect(r).toEqual({ kind: 'insufficient', missingBytes: missing, requiredBytes: 920, offeredBytes: members.reduce((a, m) => a + m.memoryBytes, 0) });
    expect(planPartition(s, [...members, member('new', missing)]).kind).toBe('planned');
    expect(planPartition(s, [...members, member('new', missing - 1)]).kind).toBe('insufficient');
    expect(() => requirePlan(r)).toThrow(InsufficientMemoryError);
  });
});

describe('planPartition: join and leave', () => {
  const s = shape({ numLayers: 40, embedBytes: 50, headBytes: 50 });
  const abc = [member('a', 10_000), member('b', 10_000), member('c', 10_000)];

  it('inserts a joining peer where it moves fewest layers (13 moved; from scratch moves 21)', () => {
    const before = planned(planPartition(s, abc));
    const next = [...abc, member('d', 10_000)];
    const after = planned(planPartition(s, next, before));
    expect(after.ring.map((x) => `${x.peerId}:${x.start}-${x.end}`)).toEqual(['a:0-10', 'd:10-20', 'b:20-30', 'c:30-40']);
    expect(movedLayers(before, after)).toBe(13);
    expect(movedLayers(before, planned(planPartition(s, next)))).toBe(21);
  });

  it('keeps the old order when a peer leaves', () => {
    const four = [...abc, member('d', 10_000)];
    const before = planned(planPartition(s, four, planned(planPartition(s, abc))));
    const after = planned(
      planPartition(
        s,
        four.filter((m) => m.peerId !== 'b'),
        before,
      ),
    );
    expect(after.ring.map((x) => x.peerId)).toEqual(['a', 'd', 'c']);
  });
});

describe('planPartition: input validation', () => {
  it.each([
    { name: 'duplicate ids', members: [member('a', 1), member('a', 2)], error: DuplicateMemberError },
    { name: 'negative memory', members: [member('a', -1)], error: InvalidPlanInputError },
    { name: 'fractional memory', members: [member('a', 1.5)], error: InvalidPlanInputError },
    { name: 'zero speed', members: [member('a', 100, 0)], error: InvalidPlanInputError },
    { name: 'NaN speed', members: [member('a', 100, Number.NaN)], error: InvalidPlanInputError },
  ])('rejects $name', ({ members, error }) => {
    expect(() => planPartition(shape(), members)).toThrow(error);
  });

  it.each([{ numLayers: 0 }, { bytesPerLayer: 0 }, { embedBytes: -1 }, { contextTokens: 0 }, { kvBytesPerTokenPerLayer: 0.5 }])(
    'rejects model shape %o',
    (over) => {
      expect(() => planPartition(shape(over), [member('a', 1000)])).toThrow(InvalidPlanInputError);
    },
  );
});
