// Recently stored pieces kept in memory for serving (docs/pieces.md, "Exchange"): in a streaming
// relay what peers ask for is mostly what just arrived, and reading it back from the verifying
// store would cost a read and a second SHA-256 per serve.
import type { ModelStore } from './piece-store.ts';

/** Default budget of `withServeCache` (`PieceSwarmOptions.serveCacheBytes`). */
export const DEFAULT_SERVE_CACHE_BYTES = 64 * 1024 * 1024;
/**
 * A copy neither stored nor served for this long is dropped (`expireCache`): a relay serves what
 * just arrived within seconds, and a peer whose download ended must not hold 64 MiB for nobody.
 */
export const DEFAULT_SERVE_CACHE_IDLE_MS = 30_000;

export interface ServeCache {
  /** Drops every copy held in memory (the swarm closed: its bytes must not outlive it). */
  clearCache(): void;
  /** Drops the copies idle (neither stored nor served) for longer than the idle time at `now`. */
  expireCache(now: number): void;
}

export interface ServeCacheOptions {
  /** The clock `expireCache` is compared against (ms). */
  readonly now?: () => number;
  readonly idleMs?: number;
}

/**
 * Decorates a verifying store (`withVerification`): bytes whose `put` succeeded (so they were
 * hashed, once, in this process) are kept in memory, oldest first, within `maxBytes`; `get`
 * answers from them without reading or re-hashing. Pieces larger than the budget are not kept; 0
 * disables the cache. `evict`, and a `verify` that finds no good copy, drop the copy in memory
 * too, so `get` never answers what the store no longer holds through this decorator. A serve
 * makes a copy the newest again; `expireCache` drops the ones idle past `idleMs`.
 */
export function withServeCache<S extends ModelStore>(store: S, maxBytes: number, o: ServeCacheOptions = {}): S & ServeCache {
  const now = o.now ?? Date.now;
  const idleMs = o.idleMs ?? DEFAULT_SERVE_CACHE_IDLE_MS;
  // Oldest first: Map order is insertion order, and a store or serve re-inserts.
  const recent = new Map<string, { readonly data: Uint8Array; readonly at: number }>();
  let bytes = 0;
  const forget = (hash: string): void => {
    const e = recent.get(hash);
    if (e === undefined) return;
    recent.delete(hash);
    bytes -= e.data.byteLength;
  };
  const remember = (hash: string, data: Uint8Array): void => {
    if (data.byteLength > maxBytes) return;
    forget(hash); // the same content stored again: counted once, and now the newest
    recent.set(hash, { data, at: now() });
    bytes += data.byteLength;
    for (const [h, e] of recent) {
      if (bytes <= maxBytes) break;
      recent.delete(h);
      bytes -= e.data.byteLength;
    }
  };
  const overrides: Pick<ModelStore, 'get' | 'put' | 'evict' | 'verify'> & ServeCache = {
    async get(hash) {
      const e = recent.get(hash);
      if (e === undefined) return store.get(hash);
      recent.delete(hash);
      recent.set(hash, { data: e.data, at: now() });
      return e.data;
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
    expireCache(at) {
      for (const [h, e] of recent) {
        if (at - e.at <= idleMs) break;
        recent.delete(h);
        bytes -= e.data.byteLength;
      }
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
