import { describe, expect, it } from 'vitest';
import { StoreQuotaError } from '../../../shared/pieces/errors.ts';
import { MemoryPieceStore } from '../../../shared/pieces/memory-piece-store.ts';
import type { ModelRecord } from '../../../shared/pieces/piece-store.ts';
import { withLru } from '../../../shared/pieces/with-lru.ts';

// Pieces are named by fake hashes here: the LRU layer never hashes, and the memory store only
// counts bytes against its capacity (a quota that frees space at once).
const SIZE = 100;
const bytes = (): Uint8Array => new Uint8Array(SIZE);
const pieceKeys = (model: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${model}-p${i}`);

async function storeModel(store: MemoryPieceStore, modelId: string, pieces: string[], lastUsed: number): Promise<ModelRecord> {
  for (const h of pieces) await store.put(h, bytes());
  const rec = { modelId, pieces, bytes: pieces.length * SIZE, lastUsed };
  await store.putModel(rec);
  return rec;
}

function lruOver(inner: MemoryPieceStore, extra: { isPinned?: (h: string) => boolean } = {}) {
  let clock = 1000;
  const evicted: string[] = [];
  const store = withLru(inner, { now: () => ++clock, onEvict: (r) => evicted.push(r.modelId), settle: async () => undefined, ...extra });
  return { store, evicted };
}

describe('withLru', () => {
  it('evicts the least recently used whole model to make room, and getModel refreshes its place', async () => {
    const inner = new MemoryPieceStore(10 * SIZE);
    await storeModel(inner, 'old', pieceKeys('old', 4), 1);
    await storeModel(inner, 'newer', pieceKeys('newer', 4), 2);
    const { store, evicted } = lruOver(inner);
    expect((await store.getModel('old'))?.lastUsed).toBeGreaterThan(2); // touched: now the newest
    for (const h of pieceKeys('third', 4)) await store.put(h, bytes());
    expect(evicted).toEqual(['newer']);
    expect((await inner.listModels()).map((m) => m.modelId)).toEqual(['old']);
    for (const h of pieceKeys('newer', 4)) expect(await inner.has(h)).toBe(false);
    for (const h of pieceKeys('old', 4)) expect(await inner.has(h)).toBe(true);
  });

  it('concurrent puts that hit the quota evict one model, not one each', async () => {
    const inner = new MemoryPieceStore(12 * SIZE);
    await storeModel(inner, 'a', pieceKeys('a', 4), 1);
    await storeModel(inner, 'b', pieceKeys('b', 4), 2);
    await storeModel(inner, 'c', pieceKeys('c', 4), 3);
    const { store, evicted } = lruOver(inner);
    await Promise.all(pieceKeys('d', 4).map((h) => store.put(h, bytes())));
    expect(evicted).toEqual(['a']);
    expect((await inner.listModels()).map((m) => m.modelId).sort()).toEqual(['b', 'c']);
  });

  it('when nothing is left to evict: StoreQuotaError, after every older model went whole, oldest first', async () => {
    const inner = new MemoryPieceStore(8 * SIZE);
    await storeModel(inner, 'x', pieceKeys('x', 4), 2);
    await storeModel(inner, 'y', pieceKeys('y', 4), 1);
    const { store, evicted } = lruOver(inner);
    const results = await Promise.allSettled(pieceKeys('huge', 12).map((h) => store.put(h, bytes())));
    const failures = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as unknown);
    expect(failures.length).toBe(4); // 8 of 12 fit once x and y are gone
    for (const f of failures) expect(f).toBeInstanceOf(StoreQuotaError);
    expect(evicted).toEqual(['y', 'x']);
    expect(await inner.listModels()).toEqual([]); // the half-stored model has no record
  });

  it('keeps pieces another model shares, and pinned pieces', async () => {
    const inner = new MemoryPieceStore(7 * SIZE); // 4 distinct pieces held, room for 3 more
    await storeModel(inner, 'old', ['shared', 'pinned', 'old-only'], 1);
    await storeModel(inner, 'new', ['shared', 'new-only'], 2);
    const { store, evicted } = lruOver(inner, { isPinned: (h) => h === 'pinned' });
    for (const h of pieceKeys('more', 4)) await store.put(h, bytes());
    expect(evicted).toEqual(['old']);
    expect(await inner.has('shared')).toBe(true);
    expect(await inner.has('pinned')).toBe(true);
    expect(await inner.has('old-only')).toBe(false);
  });
});
