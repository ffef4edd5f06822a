// Units asked for by fetchUnits: their pieces join the wanted list at tier 0, and each ask
// resolves once every piece of its units is held (docs/pieces.md, "Progress").
import { describe, expect, it } from 'vitest';
import type { UnitName } from '../../../shared/model/manifest.ts';
import { SwarmClosedError } from '../../../shared/pieces/errors.ts';
import { keyOf, type PieceKey, type PieceRef } from '../../../shared/pieces/piece-ref.ts';
import { UnitWants, wantUnits, type WantedRef } from '../../../shared/pieces/unit-wants.ts';

const ref = (unit: UnitName, index: number): PieceRef => ({ unit, index, hash: `${unit}-${index}`, file: `${unit}.bin`, offset: index * 10, length: 10 });
const all = [ref('embed', 0), ref('layer-000', 0), ref('layer-000', 1), ref('layer-001', 0), ref('head', 0)];
const [embed0, a0, a1, b0] = all as [PieceRef, PieceRef, PieceRef, PieceRef, PieceRef];

describe('wantUnits', () => {
  it('appends the missing pieces of the units at tier 0 and promotes tier-1 ones, in place', () => {
    const wanted: WantedRef[] = [
      { ref: embed0, tier: 0 },
      { ref: a1, tier: 1 },
    ];
    const same = wanted;
    expect(wantUnits(wanted, all, [new Set(['layer-000']), new Set(['layer-001'])])).toBe(2);
    expect(wanted).toBe(same);
    expect(wanted.map((w) => [keyOf(w.ref), w.tier])).toEqual([
      ['embed#0', 0],
      ['layer-000#1', 0],
      ['layer-000#0', 0],
      ['layer-001#0', 0],
    ]);
  });

  it('adds nothing for units already wanted at tier 0, or not in the manifest', () => {
    const wanted: WantedRef[] = [{ ref: b0, tier: 0 }];
    expect(wantUnits(wanted, all, [new Set(['layer-001', 'layer-099'])])).toBe(0);
    expect(wanted).toEqual([{ ref: b0, tier: 0 }]);
  });
});

describe('UnitWants', () => {
  it('resolves an ask once every piece of its units is held, and only then', async () => {
    const wants = new UnitWants();
    let done = false;
    const asked = wants.add(['layer-000']).then(() => (done = true));
    expect(wants.units()).toEqual([new Set(['layer-000'])]);
    const held = new Set<PieceKey>([keyOf(a0)]);
    wants.settle(all, held);
    await Promise.resolve();
    expect(done).toBe(false);
    held.add(keyOf(a1));
    wants.settle(all, held);
    await asked;
    expect(wants.size).toBe(0);
  });

  it('rejects every open ask when the swarm closes', async () => {
    const wants = new UnitWants();
    const one = wants.add(['layer-000']);
    const two = wants.add(['head']);
    wants.rejectAll(new SwarmClosedError('units'));
    await expect(one).rejects.toBeInstanceOf(SwarmClosedError);
    await expect(two).rejects.toThrow('swarm closed before the units were complete');
    expect(wants.size).toBe(0);
  });
});
