import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkPlan } from '../../../shared/planner/check-plan.ts';
import { planPartition } from '../../../shared/planner/plan-partition.ts';
import { layerCostBytes, stageBytes } from '../../../shared/planner/model-shape.ts';
import { FC, capAt, counts, member, membersArb, permute, planned, referenceQuotas, shapeArb } from './fixtures.ts';

const caseArb = shapeArb.chain((s) => fc.record({ s: fc.constant(s), members: membersArb(s) }));

describe('planPartition properties', () => {
  it('covers every layer exactly once, within every budget, each member once', () => {
    fc.assert(
      fc.property(caseArb, ({ s, members }) => {
        const r = planPartition(s, members);
        if (r.kind !== 'planned') return;
        checkPlan(s, members, r.plan); // contiguous 0..L, non-empty stages, budgets
        const ids = [...r.plan.ring.map((x) => x.peerId), ...r.plan.seeders.map((x) => x.peerId)].sort();
        expect(ids).toEqual(members.map((m) => m.peerId).sort());
        for (const st of r.plan.ring) expect(st.reservedBytes).toBe(stageBytes(s, st.start, st.end));
      }),
      FC,
    );
  });

  it('gives the same plan for the same members in any order', () => {
    fc.assert(
      fc.property(caseArb, fc.array(fc.integer(), { minLength: 1, maxLength: 12 }), ({ s, members }, keys) => {
        expect(planPartition(s, permute(members, keys))).toEqual(planPartition(s, members));
      }),
      FC,
    );
  });

  it('keeps every count within one layer of its memory-capped share of memory ÷ speed', () => {
    fc.assert(
      fc.property(caseArb, ({ s, members }) => {
        const r = planPartition(s, members);
        if (r.kind !== 'planned') return;
        const q = referenceQuotas(s, members, r.plan);
        r.plan.ring.forEach((st, i) => {
          expect(Math.abs(st.end - st.start - (q[i] as number))).toBeLessThan(1 + 1e-6);
        });
      }),
      FC,
    );
  });

  it('with equal speeds and room to spare, is proportional to memory within one layer', () => {
    const arb = shapeArb.chain((s) => {
      // Every budget holds the whole model, so no cap binds and only proportionality is left.
      const whole = stageBytes(s, 0, s.numLayers);
      const budgets = fc.uniqueArray(fc.record({ id: fc.stringMatching(/^[a-z]{1,4}$/), units: fc.integer({ min: 1, max: 6 }) }), {
        selector: (m) => m.id,
        minLength: 1,
        maxLength: 8,
      });
      return fc.record({ s: fc.constant(s), members: budgets.map((bs) => bs.map((b) => member(b.id, b.units * whole))) });
    });
    fc.assert(
      fc.property(arb, ({ s, members }) => {
        const plan = planned(planPartition(s, members));
        const ring = new Set(plan.ring.map((x) => x.peerId));
        const total = members.filter((m) => ring.has(m.peerId)).reduce((a, m) => a + m.memoryBytes, 0);
        for (const m of members.filter((x) => ring.has(x.peerId))) {
          const share = (s.numLayers * m.memoryBytes) / total;
          expect(Math.abs((counts(plan)[m.peerId] as number) - share)).toBeLessThan(1 + 1e-9);
        }
        // Whoever is left out is no bigger than anyone in the ring.
        const smallest = Math.min(...members.filter((m) => ring.has(m.peerId)).map((m) => m.memoryBytes));
        for (const sd of plan.seeders) {
          expect(sd.reason).toBe('not-needed');
          expect(members.find((m) => m.peerId === sd.peerId)?.memoryBytes).toBeLessThanOrEqual(smallest);
        }
      }),
      FC,
    );
  });

  it('makes a seeder "too-small" exactly when its budget cannot hold one layer', () => {
    fc.assert(
      fc.property(caseArb, ({ s, members }) => {
        const r = planPartition(s, members);
        if (r.kind !== 'planned') return;
        for (const sd of r.plan.seeders) {
          const m = members.find((x) => x.peerId === sd.peerId);
          expect(sd.reason === 'too-small').toBe((m?.memoryBytes ?? 0) < layerCostBytes(s));
        }
      }),
      FC,
    );
  });

  it('never gives a member more layers than one with a larger weight at the same position class', () => {
    // Heavier (memory ÷ speed) middle stages never get fewer layers than lighter uncapped ones.
    fc.assert(
      fc.property(caseArb, ({ s, members }) => {
        const r = planPartition(s, members);
        if (r.kind !== 'planned' || r.plan.ring.length < 3) return;
        const byId = new Map(members.map((m) => [m.peerId as string, m]));
        const middles = r.plan.ring.slice(1, -1).map((st) => {
          const m = byId.get(st.peerId);
          if (m === undefined) throw new Error('unknown stage peer');
          return { n: st.end - st.start, w: m.memoryBytes / m.speedMsPerLayer, cap: capAt(s, m.memoryBytes, false, false) };
        });
        for (const a of middles) for (const b of middles) if (a.w > b.w && a.n < b.n) expect(a.n).toBe(a.cap);
      }),
      FC,
    );
  });
});
