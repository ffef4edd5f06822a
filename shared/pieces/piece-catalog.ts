import type { ModelManifest, UnitName } from '../model/manifest.ts';
import { keyOf, pieceKey, piecesOf, type PieceKey, type PieceRef } from './piece-ref.ts';

/** The manifest travels like a piece: unit `manifest`, index 0, content address = the model id. */
export const MANIFEST_UNIT = 'manifest';
export const MANIFEST_KEY = pieceKey(MANIFEST_UNIT, 0);

/** Lookups over one model's pieces: by key (`layer-003#7`), by hash, per unit. */
export class PieceCatalog {
  readonly all: readonly PieceRef[];
  private readonly byKey = new Map<PieceKey, PieceRef>();
  private readonly byHash = new Map<string, PieceRef>();
  private readonly counts = new Map<string, number>([[MANIFEST_UNIT, 1]]);

  constructor(readonly manifest: ModelManifest) {
    this.all = piecesOf(manifest);
    for (const u of manifest.units) this.counts.set(u.name, u.pieces.length);
    for (const p of this.all) {
      this.byKey.set(keyOf(p), p);
      if (!this.byHash.has(p.hash)) this.byHash.set(p.hash, p);
    }
  }

  get(key: PieceKey): PieceRef | undefined {
    return this.byKey.get(key);
  }

  /** Pieces of `unit` (the manifest itself counts as a unit of one piece); 0 for a unit the manifest does not list. */
  pieceCount(unit: string): number {
    return this.counts.get(unit) ?? 0;
  }

  byContent(hash: string): PieceRef | undefined {
    return this.byHash.get(hash);
  }

  /** Pieces of the given units (all when 'all'), in manifest order. */
  select(units: readonly UnitName[] | 'all'): PieceRef[] {
    if (units === 'all') return [...this.all];
    const set = new Set<string>(units);
    return this.all.filter((p) => set.has(p.unit));
  }
}
