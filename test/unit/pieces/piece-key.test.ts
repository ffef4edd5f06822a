// Piece keys (`unit#index`) are spelled in one place: every peer must name a piece the same way,
// since origin assignment hashes the key and offers, requests and progress are kept by it.
import { describe, expect, it } from 'vitest';
import { MANIFEST_KEY, MANIFEST_UNIT, PieceCatalog } from '../../../shared/pieces/piece-catalog.ts';
import { keyOf, pieceKey } from '../../../shared/pieces/piece-ref.ts';
import { buildSyntheticPackage } from '../../util/pieces-package.ts';

describe('pieceKey', () => {
  it('spells unit and index as unit#index', () => {
    expect(pieceKey('layer-003', 7)).toBe('layer-003#7');
    expect(MANIFEST_KEY).toBe(pieceKey(MANIFEST_UNIT, 0));
  });

  it('keyOf a reference is the key of its unit and index', () => {
    expect(keyOf({ unit: 'embed', index: 2 })).toBe(pieceKey('embed', 2));
  });

  it('names every piece of a model once, and the catalog finds each by its key', async () => {
    const { manifest } = await buildSyntheticPackage({ layers: 3, unitBytes: 3 * 4096 + 5, pieceSize: 4096, seed: 3 });
    const catalog = new PieceCatalog(manifest);
    const keys = catalog.all.map(keyOf);
    expect(new Set(keys).size).toBe(keys.length);
    for (const ref of catalog.all) expect(catalog.get(pieceKey(ref.unit, ref.index))).toBe(ref);
  });
});
