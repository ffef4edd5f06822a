// Which units a peer's swarm fetches on its own (shared/peer/units-policy.ts).
import { describe, expect, it } from 'vitest';
import type { ModelManifest } from '../../../shared/model/manifest.ts';
import { unitsFor } from '../../../shared/peer/units-policy.ts';

const manifest = { architecture: { numLayers: 4 } } as unknown as ModelManifest;

describe('unitsFor', () => {
  it("'all' is every unit and 'none' no unit", () => {
    expect(unitsFor('all', manifest)).toBe('all');
    expect(unitsFor('none', manifest)).toEqual([]);
  });

  it('a range takes embed with layer 0 and head with the last layer', () => {
    expect(unitsFor({ start: 0, end: 2 }, manifest)).toEqual(['embed', 'layer-000', 'layer-001']);
    expect(unitsFor({ start: 2, end: 4 }, manifest)).toEqual(['layer-002', 'layer-003', 'head']);
  });

  it('a range past the last layer is cut there (and still takes head)', () => {
    expect(unitsFor({ start: 3, end: 99 }, manifest)).toEqual(['layer-003', 'head']);
  });
});
