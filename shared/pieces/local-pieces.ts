// What this peer holds of one model (docs/pieces.md, "Exchange"): the pieces verified in its
// store, those being stored right now, those found there at start (progress counts them as
// cache), and the bytes by source. Every byte goes through the verifying store.
import { encodeBits } from './bitfield.ts';
import { PieceLeftStoreError } from './errors.ts';
import type { PieceCatalog } from './piece-catalog.ts';
import { keyOf, pieceKey, type PieceKey, type PieceRef } from './piece-ref.ts';
import type { ModelStore } from './piece-store.ts';
import type { SwarmProgress } from './progress.ts';
import { withServeCache, type ServeCache, type ServeCacheOptions } from './serve-cache.ts';
import { swarmProgress } from './swarm-progress.ts';

/** Where stored bytes came from: a peer, the origin, or this peer's own package ('cache'). */
export type PieceArrival = 'peer' | 'origin' | 'cache';

export class LocalPieces {
  /** The model's pieces, once its manifest was accepted and the store checked against it. */
  catalog: PieceCatalog | undefined;
  readonly held = new Set<PieceKey>();
  readonly storing = new Set<PieceKey>();
  /** Pieces found verified in the store when the manifest was accepted (key → length). */
  private found = new Map<PieceKey, number>();
  private readonly counters = { fromPackage: 0, fromPeers: 0, fromOrigin: 0, served: 0 };
  /** The verifying store behind an in-memory copy of recent pieces, for serving. */
  private readonly served: ModelStore & ServeCache;

  /** `store`: a verifying one (`withVerification`): what it returns has been re-hashed. */
  constructor(
    private readonly store: ModelStore,
    serveCacheBytes: number,
    cache: ServeCacheOptions = {},
  ) {
    this.served = withServeCache(store, serveCacheBytes, cache);
  }

  /** Drops in-memory copies no peer asked for lately (`ServeCache.expireCache`). */
  expireServeCache(now: number): void {
    this.served.expireCache(now);
  }

  /** Verify on load: every piece the store has is re-hashed once; a corrupt copy is deleted by the store and fetched again. */
  async load(catalog: PieceCatalog): Promise<void> {
    for (const ref of catalog.all) {
      if ((await this.store.has(ref.hash)) && (await this.store.verify(ref.hash))) this.held.add(keyOf(ref));
    }
    this.found = new Map(catalog.all.filter((r) => this.held.has(keyOf(r))).map((r) => [keyOf(r), r.length]));
    this.catalog = catalog;
  }

  /** Whether the piece is held, or on its way into the store. */
  busy(key: PieceKey): boolean {
    return this.held.has(key) || this.storing.has(key);
  }

  /** Bits of the held pieces of each unit (MSB first), for BITFIELD announcements. */
  heldBits(): { unit: string; count: number; bits: Uint8Array }[] {
    return (this.catalog?.manifest.units ?? []).map((u) => ({
      unit: u.name,
      count: u.pieces.length,
      bits: encodeBits(u.pieces.length, (i) => this.held.has(pieceKey(u.name, i))),
    }));
  }

  /**
   * Stores `data` as `ref`: false (nothing done) when held or being stored already. The verifying
   * store hashes the bytes, once, and throws PieceHashMismatchError/PieceLengthError on a
   * mismatch, so nothing unverified is held (announced, served).
   */
  async put(key: PieceKey, ref: PieceRef, data: Uint8Array, from: PieceArrival): Promise<boolean> {
    if (this.busy(key)) return false;
    this.storing.add(key);
    try {
      await this.served.put(ref.hash, data);
    } finally {
      this.storing.delete(key);
    }
    this.held.add(key);
    if (from === 'peer') this.counters.fromPeers += data.byteLength;
    else if (from === 'origin') this.counters.fromOrigin += data.byteLength;
    else this.counters.fromPackage += data.byteLength;
    return true;
  }

  /**
   * Verified bytes of a held piece, to serve: recent ones from memory (hashed when stored, in this
   * process), older ones re-hashed by the store. A copy the store found corrupt (and evicted) is
   * no longer held: undefined, and it is fetched again.
   */
  async read(key: PieceKey): Promise<Uint8Array | undefined> {
    const ref = this.catalog?.get(key);
    if (!ref || !this.held.has(key)) return undefined;
    const data = await this.served.get(ref.hash);
    if (!data) for (const set of [this.held, this.found]) set.delete(key);
    return data;
  }

  /** A whole unit's verified bytes (its pieces concatenated), re-read from the store, not from memory. */
  async readUnit(unit: string): Promise<Uint8Array> {
    const refs = (this.catalog?.all ?? []).filter((r) => r.unit === unit);
    const out = new Uint8Array(refs.reduce((n, r) => n + r.length, 0));
    let at = 0;
    for (const ref of refs) {
      const data = await this.store.get(ref.hash);
      if (!data || data.byteLength !== ref.length) throw new PieceLeftStoreError(keyOf(ref));
      out.set(data, at);
      at += data.byteLength;
    }
    return out;
  }

  countServed(bytes: number): void {
    this.counters.served += bytes;
  }

  /** Writes the model record once every piece of `all` is held: from then on the model counts as cached. */
  async recordIfComplete(modelId: string, now: number): Promise<void> {
    if (!this.catalog) return;
    const all = this.catalog.all;
    if (!all.every((r) => this.held.has(keyOf(r)))) return;
    await this.store.putModel({ modelId, pieces: all.map((r) => r.hash), bytes: all.reduce((n, r) => n + r.length, 0), lastUsed: now });
  }

  progress(modelId: string, wanted: readonly { readonly ref: PieceRef }[], peers: number): SwarmProgress {
    return swarmProgress({ modelId, wanted, held: this.held, cached: this.found, ...this.counters, peers });
  }

  /** Drops the copies kept in memory (the swarm closed). */
  close(): void {
    this.served.clearCache();
  }
}
