import { describe, expect, it } from 'vitest';
import type { ModelManifest, UnitName } from '../../../shared/model/manifest.ts';
import { MemoryPieceStore } from '../../../shared/pieces/memory-piece-store.ts';
import type { UnitSource } from '../../../shared/ring/ring-peer.ts';
import { StorageGuard, StorageShortError } from '../../../web-peer/store/storage-guard.ts';
import type { StorageCheck } from '../../../web-peer/state/app-state.ts';

const MiB = 2 ** 20;
const ROOM = 'room-model';
// Two units of 4 MiB in 1 MiB pieces; only unit names, sizes and piece hashes matter to the guard.
const manifest = {
  pieceSize: MiB,
  units: [
    { name: 'embed', file: 'embed.bin', bytes: 4 * MiB, pieces: ['e0', 'e1', 'e2', 'e3'] },
    { name: 'layer-000', file: 'layer-000.bin', bytes: 4 * MiB - 10, pieces: ['l0', 'l1', 'l2', 'l3'] },
  ],
} as unknown as ModelManifest;

/** The inner source records what it was asked for: a refused check must not reach it. */
function setup(opts: { quota: number; usage: number }) {
  const store = new MemoryPieceStore();
  const asked: UnitName[][] = [];
  const checks: StorageCheck[] = [];
  let persists = 0;
  const inner: UnitSource = { fetchUnits: async (units) => (asked.push([...units]), new Map()) };
  const guard = new StorageGuard({
    inner,
    manifest,
    modelId: ROOM,
    store,
    estimate: async () => ({ usage: opts.usage, quota: opts.quota }),
    persist: async () => void persists++,
    nameOf: async (id) => `name-${id}`,
    onCheck: (c) => checks.push(c),
  });
  const seed = async (modelId: string, mib: number, lastUsed: number): Promise<void> => {
    const pieces = Array.from({ length: mib }, (_, i) => `${modelId}-p${i}`);
    for (const p of pieces) await store.put(p, new Uint8Array(1));
    await store.put(modelId, new Uint8Array(1));
    await store.putModel({ modelId, pieces, bytes: mib * MiB, lastUsed });
  };
  return { store, guard, asked, checks, seed, persists: () => persists };
}

describe('StorageGuard', () => {
  it("reports usage, quota and the units' needs, then downloads", async () => {
    const t = setup({ usage: 0, quota: 100 * MiB });
    await t.store.put('e0', new Uint8Array(1)); // one piece already held
    await t.guard.fetchUnits(['embed', 'layer-000']);
    expect(t.checks).toEqual([{ usage: 0, quota: 100 * MiB, neededBytes: 8 * MiB - 10, missingBytes: 7 * MiB - 10, evicted: [], short: null }]);
    expect(t.asked).toEqual([['embed', 'layer-000']]);
    expect(t.persists()).toBe(1);
  });

  it("evicts the least recently used model (never the room's) until the units fit", async () => {
    const t = setup({ usage: 96 * MiB, quota: 100 * MiB });
    await t.seed('old', 3, 1);
    await t.seed(ROOM, 50, 0); // oldest, but the room's own model
    await t.seed('newer', 3, 2);
    await t.guard.fetchUnits(['embed']); // 4 MiB + 1 MiB reserve; 4 free: evicting 'old' gives 7
    expect(t.checks[0]?.evicted).toEqual(['name-old']);
    expect((await t.store.listModels()).map((m) => m.modelId).sort()).toEqual(['newer', ROOM]);
    expect(await t.store.has('old-p0')).toBe(false);
    expect(await t.store.has('old')).toBe(false);
    expect(t.asked).toEqual([['embed']]);
  });

  it('refuses with the numbers, evicting and downloading nothing, when eviction cannot make room', async () => {
    const t = setup({ usage: 99 * MiB, quota: 100 * MiB });
    await t.seed('old', 1, 1);
    const err = await t.guard.fetchUnits(['embed', 'layer-000']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageShortError);
    expect((err as StorageShortError).check.short).toEqual({ freeBytes: MiB, evictableBytes: MiB, wantBytes: 9 * MiB - 10, shortBytes: 7 * MiB - 10 });
    expect((err as Error).message).toMatch(/need 8\.0 MB more .* quota is 100\.0 MB with 99\.0 MB used, .* frees only 1\.0 MB: 7\.0 MB short/);
    expect(t.checks[0]?.short).not.toBeNull();
    expect(t.asked).toEqual([]);
    expect((await t.store.listModels()).map((m) => m.modelId)).toEqual(['old']);
  });

  it('asks for persistence before every check but skips the quota check when the browser tells none', async () => {
    const store = new MemoryPieceStore();
    const checks: StorageCheck[] = [];
    let asked = 0;
    const guard = new StorageGuard({
      inner: { fetchUnits: async () => new Map() },
      manifest,
      modelId: ROOM,
      store,
      estimate: async () => undefined,
      persist: async () => void asked++,
      nameOf: async (id) => id,
      onCheck: (c) => checks.push(c),
    });
    await guard.fetchUnits(['embed']);
    expect(asked).toBe(1);
    expect(checks).toEqual([]);
  });
});
