import { StoreQuotaError } from './errors.ts';
import type { ModelRecord, ModelStore } from './piece-store.ts';

export interface LruOptions {
  /** Epoch ms; injected so tests order models deterministically. */
  readonly now: () => number;
  /** Hashes that must survive eviction (the model being downloaded right now). */
  readonly isPinned?: (hash: string) => boolean;
  /** Told about each model evicted to make room. */
  readonly onEvict?: (record: ModelRecord) => void;
  /**
   * Waits before retrying after an eviction: browsers free IndexedDB space lazily, and retrying at
   * once would evict the next model for space that is already on its way. Default: 100/300/900 ms.
   */
  readonly settle?: (attempt: number) => Promise<void>;
}

const SETTLE_TRIES = 3;
const defaultSettle = (attempt: number): Promise<void> => new Promise((r) => setTimeout(r, 100 * 3 ** attempt));

/**
 * Least-recently-used eviction of whole models. When the inner store reports its quota full
 * (StoreQuotaError), the complete model used longest ago loses its record first and then its
 * pieces (a half-evicted model is therefore never counted as cached), and the put is retried.
 * When no model is left to evict, the StoreQuotaError reaches the caller. `getModel` refreshes
 * the model's place in the LRU order.
 */
export function withLru<S extends ModelStore>(store: S, opts: LruOptions): S {
  async function evictOldest(): Promise<boolean> {
    const models = (await store.listModels()).sort((a, b) => a.lastUsed - b.lastUsed);
    const victim = models[0];
    if (!victim) return false;
    const keep = new Set<string>();
    for (const m of models.slice(1)) for (const h of [m.modelId, ...m.pieces]) keep.add(h);
    await store.deleteModel(victim.modelId);
    for (const h of [victim.modelId, ...victim.pieces]) {
      if (!keep.has(h) && !opts.isPinned?.(h)) await store.evict(h);
    }
    opts.onEvict?.(victim);
    return true;
  }
  const overrides = {
    async put(hash: string, data: Uint8Array): Promise<void> {
      let settling = -1; // -1: nothing evicted yet
      for (;;) {
        try {
          return await store.put(hash, data);
        } catch (err) {
          // Only a full quota is handled here: make room and retry; anything else is the caller's.
          if (!(err instanceof StoreQuotaError)) throw err;
          if (settling >= 0 && settling < SETTLE_TRIES) {
            await (opts.settle ?? defaultSettle)(settling++);
            continue;
          }
          if (!(await evictOldest())) throw err;
          settling = 0;
        }
      }
    },
    async getModel(modelId: string): Promise<ModelRecord | undefined> {
      const rec = await store.getModel(modelId);
      if (!rec) return undefined;
      const touched = { ...rec, lastUsed: opts.now() };
      await store.putModel(touched);
      return touched;
    },
  };
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'put') return overrides.put;
      if (prop === 'getModel') return overrides.getModel;
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
