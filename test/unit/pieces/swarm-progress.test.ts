// What a swarm reports (docs/pieces.md, "Progress"): a returning peer shows the pieces it found in
// its store as done and from cache, before and after its partition wants them.
import { describe, expect, it } from 'vitest';
import type { UnitName } from '../../../shared/model/manifest.ts';
import { pieceKey, type PieceRef } from '../../../shared/pieces/piece-ref.ts';
import { swarmProgress, type ProgressInput } from '../../../shared/pieces/swarm-progress.ts';

const ref = (unit: UnitName, index: number, length: number): PieceRef => ({ unit, index, hash: `${unit}${index}`, file: `${unit}.bin`, offset: 0, length });
const a0 = ref('layer-000', 0, 100);
const a1 = ref('layer-000', 1, 50);
const b0 = ref('layer-001', 0, 70);
const base: ProgressInput = { modelId: 'm', wanted: [], held: new Set(), cached: new Map(), fromPackage: 0, fromPeers: 0, fromOrigin: 0, served: 0, peers: 0 };

describe('swarmProgress', () => {
  it('a returning peer that wants nothing yet shows what its store held', () => {
    const p = swarmProgress({
      ...base,
      held: new Set([pieceKey('layer-000', 0), pieceKey('layer-000', 1)]),
      cached: new Map([
        [pieceKey('layer-000', 0), 100],
        [pieceKey('layer-000', 1), 50],
      ]),
    });
    expect(p).toMatchObject({ fromCache: 150, piecesDone: 2, piecesTotal: 2, bytesDone: 150, bytesTotal: 150 });
  });

  it('cached pieces its partition then wants are counted once; what arrives later is from peers', () => {
    const held = new Set([pieceKey('layer-000', 0), pieceKey('layer-000', 1), pieceKey('layer-001', 0)]);
    const p = swarmProgress({
      ...base,
      wanted: [{ ref: a0 }, { ref: a1 }, { ref: b0 }],
      held,
      cached: new Map([
        [pieceKey('layer-000', 0), 100],
        [pieceKey('layer-000', 1), 50],
      ]),
      fromPeers: 70,
    });
    expect(p).toMatchObject({ fromCache: 150, fromPeers: 70, piecesDone: 3, piecesTotal: 3, bytesDone: 220, bytesTotal: 220 });
  });

  it('a cached piece no longer held (found corrupt) is neither done nor cache', () => {
    const p = swarmProgress({
      ...base,
      wanted: [{ ref: a0 }],
      held: new Set(),
      cached: new Map([
        [pieceKey('layer-000', 0), 100],
        [pieceKey('layer-000', 1), 50],
      ]),
    });
    expect(p).toMatchObject({ fromCache: 0, piecesDone: 0, piecesTotal: 1, bytesDone: 0, bytesTotal: 100 });
  });

  it("a seed's imported package counts as cache", () => {
    const p = swarmProgress({ ...base, wanted: [{ ref: a0 }], held: new Set([pieceKey('layer-000', 0)]), fromPackage: 100 });
    expect(p).toMatchObject({ fromCache: 100, bytesDone: 100, bytesTotal: 100 });
  });
});
