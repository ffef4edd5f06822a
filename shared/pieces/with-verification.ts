import { sha256Hex } from '../crypto/sha256.ts';
import { PieceHashMismatchError, PieceLengthError } from '../model/errors.ts';
import { CorruptPieceError } from './errors.ts';
import type { PieceStore } from './piece-store.ts';

export interface VerificationOptions {
  /** Where a hash sits in the manifest: pieces found there are length-checked and named in errors. */
  readonly locate?: (hash: string) => { unit: string; index: number; length: number } | undefined;
  /** Told about every stored copy found corrupt (it has already been deleted). */
  readonly onCorrupt?: (err: CorruptPieceError) => void;
  /** Hex SHA-256 of bytes; WebCrypto by default (Node injects one that hashes in place, no copy). */
  readonly sha256Hex?: (data: Uint8Array) => Promise<string> | string;
}

/**
 * Nothing unverified goes in or comes out: `put` hashes the bytes and refuses a mismatch before
 * the inner store sees them; `get` re-hashes what the inner store returns, and a corrupt copy
 * (bit rot, a torn write from an older version, someone editing the cache) is evicted, reported
 * and answered as absent, so the caller fetches it again instead of serving it.
 */
export function withVerification<S extends PieceStore>(store: S, opts: VerificationOptions = {}): S {
  const hashOf = opts.sha256Hex ?? sha256Hex;
  const check = async (hash: string, data: Uint8Array): Promise<string | undefined> => {
    const at = opts.locate?.(hash);
    if (at && at.length !== data.length) return `length ${data.length}, expected ${at.length}`;
    const actual = await hashOf(data);
    return actual === hash ? undefined : actual;
  };
  const wrapper: PieceStore = {
    has: (hash) => store.has(hash),
    async get(hash) {
      const data = await store.get(hash);
      if (!data) return undefined;
      const problem = await check(hash, data);
      if (problem === undefined) return data;
      await store.evict(hash);
      opts.onCorrupt?.(new CorruptPieceError(hash, 'store', { cause: problem }));
      return undefined;
    },
    async put(hash, data) {
      const at = opts.locate?.(hash);
      if (at && at.length !== data.length) throw new PieceLengthError(at.unit, at.index, at.length, data.length);
      const actual = await hashOf(data);
      if (actual !== hash) throw new PieceHashMismatchError(at?.unit ?? 'content', at?.index ?? -1, hash, actual);
      await store.put(hash, data);
    },
    verify: (hash) => store.verify(hash),
    evict: (hash) => store.evict(hash),
    list: () => store.list(),
  };
  // Keep the inner store's other methods (the model catalog) reachable through the decorator.
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && prop in wrapper) return wrapper[prop as keyof PieceStore];
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
