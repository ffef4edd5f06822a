import { afterEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../shared/crypto/sha256.ts';
import { PieceHashMismatchError } from '../../shared/model/errors.ts';
import type { ModelStore } from '../../shared/pieces/piece-store.ts';
import { withVerification } from '../../shared/pieces/with-verification.ts';
import { seededBytes } from '../util/pieces-fixtures.ts';

export interface StoreUnderTest {
  readonly store: ModelStore;
  /** Opens the same storage again (a restart); absent for stores that keep nothing. */
  readonly reopen?: () => Promise<ModelStore>;
  readonly cleanup?: () => Promise<void>;
}

/** The behaviour every PieceStore (memory, disk, IndexedDB) must have. */
export function runPieceStoreContract(name: string, create: () => Promise<StoreUnderTest>): void {
  describe(`PieceStore contract: ${name}`, () => {
    let current: StoreUnderTest | undefined;
    const open = async (): Promise<StoreUnderTest> => (current = await create());
    afterEach(async () => {
      await current?.cleanup?.();
      current = undefined;
    });
    const piece = async (seed: number, size = 1000): Promise<{ hash: string; data: Uint8Array }> => {
      const data = seededBytes(seed, size);
      return { hash: await sha256Hex(data), data };
    };

    it('stores, finds and returns identical bytes', async () => {
      const { store } = await open();
      const a = await piece(1, 70_000);
      expect(await store.has(a.hash)).toBe(false);
      expect(await store.get(a.hash)).toBeUndefined();
      await store.put(a.hash, a.data);
      expect(await store.has(a.hash)).toBe(true);
      expect(Array.from((await store.get(a.hash)) ?? [])).toEqual(Array.from(a.data));
      expect(await store.list()).toEqual([a.hash]);
    });

    it('put is idempotent and evict is safe on absent pieces', async () => {
      const { store } = await open();
      const a = await piece(2);
      await store.put(a.hash, a.data);
      await store.put(a.hash, a.data);
      expect(await store.list()).toEqual([a.hash]);
      await store.evict(a.hash);
      await store.evict(a.hash);
      expect(await store.has(a.hash)).toBe(false);
      expect(await store.list()).toEqual([]);
    });

    it('verify says whether a good copy is held', async () => {
      const { store } = await open();
      const a = await piece(3);
      expect(await store.verify(a.hash)).toBe(false);
      await store.put(a.hash, a.data);
      expect(await store.verify(a.hash)).toBe(true);
    });

    it('keeps model records apart from pieces', async () => {
      const { store } = await open();
      const a = await piece(4);
      const b = await piece(5);
      await store.put(a.hash, a.data);
      await store.put(b.hash, b.data);
      expect(await store.getModel('m1')).toBeUndefined();
      await store.putModel({ modelId: 'm1', pieces: [a.hash, b.hash], bytes: 2000, lastUsed: 10 });
      expect(await store.getModel('m1')).toEqual({ modelId: 'm1', pieces: [a.hash, b.hash], bytes: 2000, lastUsed: 10 });
      expect((await store.listModels()).map((m) => m.modelId)).toEqual(['m1']);
      await store.deleteModel('m1');
      expect(await store.listModels()).toEqual([]);
      expect(await store.has(a.hash)).toBe(true);
    });

    it('under withVerification refuses bytes that do not match their hash', async () => {
      const { store } = await open();
      const verified = withVerification(store);
      const a = await piece(6);
      const b = await piece(7);
      await expect(verified.put(a.hash, b.data)).rejects.toBeInstanceOf(PieceHashMismatchError);
      expect(await store.has(a.hash)).toBe(false);
      await verified.put(a.hash, a.data);
      expect(await verified.has(a.hash)).toBe(true);
    });

    it('survives a restart when persistent', async () => {
      const sut = await open();
      if (!sut.reopen) return; // memory store: nothing to reopen, the other cases cover it
      const a = await piece(8, 5000);
      await sut.store.put(a.hash, a.data);
      await sut.store.putModel({ modelId: 'm2', pieces: [a.hash], bytes: 5000, lastUsed: 1 });
      const again = await sut.reopen();
      expect(Array.from((await again.get(a.hash)) ?? [])).toEqual(Array.from(a.data));
      expect((await again.getModel('m2'))?.pieces).toEqual([a.hash]);
    });
  });
}
