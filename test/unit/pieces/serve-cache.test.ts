// The serve cache (docs/pieces.md, "Exchange"): recently stored, verified pieces are served from
// memory within a byte budget, and the decorated store otherwise behaves like any PieceStore.
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../shared/crypto/sha256.ts';
import { PieceHashMismatchError } from '../../../shared/model/errors.ts';
import { MemoryPieceStore } from '../../../shared/pieces/memory-piece-store.ts';
import { withServeCache } from '../../../shared/pieces/serve-cache.ts';
import { withVerification } from '../../../shared/pieces/with-verification.ts';
import { runPieceStoreContract } from '../../contracts/piece-store.contract.ts';
import { seededBytes } from '../../util/pieces-fixtures.ts';

runPieceStoreContract('withServeCache(MemoryPieceStore)', async () => ({ store: withServeCache(new MemoryPieceStore(), 1 << 20) }));

/** A memory store that counts reads reaching it (the decorator's inner store, not the thing under test). */
class CountingStore extends MemoryPieceStore {
  reads = 0;
  override async get(hash: string): Promise<Uint8Array | undefined> {
    this.reads++;
    return super.get(hash);
  }
}

const piece = async (seed: number, size: number): Promise<{ hash: string; data: Uint8Array }> => {
  const data = seededBytes(seed, size);
  return { hash: await sha256Hex(data), data };
};

describe('withServeCache', () => {
  it('answers a just-stored piece from memory, without reading the store', async () => {
    const inner = new CountingStore();
    const store = withServeCache(inner, 10_000);
    const a = await piece(1, 1000);
    await store.put(a.hash, a.data);
    expect(await store.get(a.hash)).toBe(a.data);
    expect(inner.reads).toBe(0);
  });

  it('keeps the newest pieces within its budget, dropping the oldest first', async () => {
    const inner = new CountingStore();
    const store = withServeCache(inner, 2500);
    const [a, b, c] = await Promise.all([piece(1, 1000), piece(2, 1000), piece(3, 1000)]);
    for (const p of [a, b, c]) await store.put(p!.hash, p!.data);
    await store.get(b!.hash);
    await store.get(c!.hash);
    expect(inner.reads).toBe(0);
    expect(Array.from((await store.get(a!.hash)) ?? [])).toEqual(Array.from(a!.data)); // from the store
    expect(inner.reads).toBe(1);
  });

  it('does not keep a piece larger than the budget; budget 0 keeps nothing', async () => {
    for (const budget of [999, 0]) {
      const inner = new CountingStore();
      const store = withServeCache(inner, budget);
      const a = await piece(4, 1000);
      await store.put(a.hash, a.data);
      await store.get(a.hash);
      expect(inner.reads).toBe(1);
    }
  });

  it('forgets a copy on evict and on clearCache', async () => {
    const inner = new CountingStore();
    const store = withServeCache(inner, 10_000);
    const [a, b] = await Promise.all([piece(5, 100), piece(6, 100)]);
    await store.put(a.hash, a.data);
    await store.put(b.hash, b.data);
    await store.evict(a.hash);
    expect(await store.get(a.hash)).toBeUndefined();
    store.clearCache();
    await store.get(b.hash);
    expect(inner.reads).toBe(2);
  });

  it('never keeps bytes the verifying store refused', async () => {
    const inner = new CountingStore();
    const store = withServeCache(withVerification(inner), 10_000);
    const [a, b] = await Promise.all([piece(7, 100), piece(8, 100)]);
    await expect(store.put(a.hash, b.data)).rejects.toBeInstanceOf(PieceHashMismatchError);
    expect(await store.get(a.hash)).toBeUndefined();
  });

  it('drops copies neither stored nor served for longer than its idle time; a serve keeps one', async () => {
    const inner = new CountingStore();
    let t = 0;
    const store = withServeCache(inner, 10_000, { now: () => t, idleMs: 1000 });
    const [a, b, c] = await Promise.all([piece(1, 1000), piece(2, 1000), piece(3, 1000)]);
    await store.put(a.hash, a.data);
    await store.put(b.hash, b.data);
    t = 600;
    await store.put(c.hash, c.data);
    t = 900;
    expect(await store.get(a.hash)).toBe(a.data); // served: fresh again
    t = 1500; // b idle 1500 ms, c 900, a 600
    store.expireCache(t);
    expect(await store.get(a.hash)).toBe(a.data);
    expect(await store.get(c.hash)).toBe(c.data);
    expect(inner.reads).toBe(0);
    expect(await store.get(b.hash)).toEqual(b.data); // from the store now
    expect(inner.reads).toBe(1);
    t = 10_000;
    store.expireCache(t);
    await store.get(a.hash);
    await store.get(c.hash);
    expect(inner.reads).toBe(3);
  });
});
