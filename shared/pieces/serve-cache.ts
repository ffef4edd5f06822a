// Recently stored pieces kept in memory for serving (docs/pieces.md, "Exchange"): in a streaming
// relay what peers ask for is mostly what just arrived, and reading it back from the verifying
// store would cost a read and a second SHA-256 per serve.
import type { ModelStore } from './piece-store.ts';

/** Default budget of `withServeCache` (`PieceSwarmOptions.serveCacheBytes`). */
export const DEFAULT_SERVE_CACHE_BYTES = 64 * 1024 * 1024;

export interface ServeCache {
  /** Drops every copy held in memory (the swarm closed: its bytes must not outlive it). */
  clearCache(): void;
}

/**
 * Decorates a verifying store (`withVerification`): bytes whose `put` succeeded (so they were
 * hashed, once, in this process) are kept in memory, oldest first, within `maxBytes`; `get`
 * answers from them without reading or re-hashing. Pieces larger than the budget are not kept; 0
 * disables the cache. `evict`, and a `verify` that finds no good copy, drop the copy in memory
 * too, so `get` never answers what the store no longer holds through this decorator.
 */
export function withServeCache<S extends ModelStore>(store: S, maxBytes: number): S & ServeCache {
  const recent = new Map<string, Uint8Array>();
  let bytes = 0;
  const forget = (hash: string): void => {
    const d = recent.get(hash);
    if (d === undefined) return;
    recent.delete(hash);
    bytes -= d.byteLength;
  };
  const remember = (hash: string, data: Uint8Array): void => {
    if (data.byteLength > maxBytes) return;
    forget(hash); // the same content stored again: counted once, and now the newest
    recent.set(hash, data);
    bytes += data.byteLength;
    for (const [h, d] of recent) {
      if (bytes <= maxBytes) break;
      recent.delete(h);
      bytes -= d.byteLength;
    }
  };
  const overrides: Pick<ModelStore, 'get' | 'put' | 'evict' | 'verify'> & ServeCache = {
    async get(hash) {
      return recent.get(hash) ?? store.get(hash);
    },
    async put(hash, data) {
      await store.put(hash, data); // the verifying store refuses bad bytes by throwing: never kept
      remember(hash, data);
    },
    async evict(hash) {
      forget(hash);
      await store.evict(hash);
    },
    async verify(hash) {
      const ok = await store.verify(hash);
      if (!ok) forget(hash);
      return ok;
    },
    clearCache() {
      recent.clear();
      bytes = 0;
    },
  };
  // The inner store's other methods (has, list, the model catalog) stay reachable unchanged.
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && Object.hasOwn(overrides, prop)) return overrides[prop as keyof typeof overrides];
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as S & ServeCache;
}
