import { StoreQuotaError } from './errors.ts';
import { evictWholeModel } from './evict-model.ts';
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
 *
 * Puts run concurrently (a swarm stores several pieces at once), so evictions are serialized: one
 * model at a time, oldest first, and a put that hit the quota while another put's eviction was
 * running retries against the space that eviction freed before it evicts anything itself. A
 * StoreQuotaError therefore means every older model is gone (and `onEvict` has heard of each).
 */
export function withLru<S extends ModelStore>(store: S, opts: LruOptions): S {
  let running: Promise<boolean> | undefined;
  /** Completed evictions so far: a put that failed before the latest one finished retries first. */
  let evictions = 0;
  /** Waits left, shared by all puts, before the next model is evicted. */
  let settleLeft = 0;

  async function evictOldest(): Promise<boolean> {
    const models = (await store.listModels()).sort((a, b) => a.lastUsed - b.lastUsed);
    const victim = models[0];
    if (!victim) return false;
    await evictWholeModel(store, victim, models.slice(1), opts.isPinned);
    opts.onEvict?.(victim);
    return true;
  }
  /** Evicts one model; only ever one eviction at a time (callers check `running` first). */
  async function makeRoom(): Promise<boolean> {
    running = evictOldest();
    try {
      const evicted = await running;
      if (evicted) {
        evictions++;
        settleLeft = SETTLE_TRIES;
      }
      return evicted;
    } finally {
      running = undefined;
    }
  }

  const overrides = {
    async put(hash: string, data: Uint8Array): Promise<void> {
      for (;;) {
        const seen = evictions;
        try {
          return await store.put(hash, data);
        } catch (err) {
          // Only a full quota is handled here: make room and retry; anything else is the caller's.
          if (!(err instanceof StoreQuotaError)) throw err;
          if (running) {
            await running.catch(() => undefined); // another put is evicting: retry against what it frees
            continue;
          }
          if (evictions !== seen) continue; // an eviction finished during this attempt: retry at once
          if (settleLeft > 0) {
            await (opts.settle ?? defaultSettle)(SETTLE_TRIES - settleLeft--);
            continue;
          }
          if (!(await makeRoom())) throw err;
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
