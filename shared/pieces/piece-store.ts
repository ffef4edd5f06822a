/**
 * Where verified pieces live between runs (docs/pieces.md). Content-addressed: the key is the piece's
 * hex SHA-256, so two models sharing a piece share one copy, and a key says what its bytes must be.
 *
 * Implementations: the in-memory store (tests, ephemeral peers), `NodeStore` (a cache directory)
 * and `BrowserStore` (IndexedDB). Behaviour every one of them must have is pinned by
 * `test/contracts/piece-store.contract.ts`. Verification and eviction are decorators
 * (`withVerification`, `withLru`), not flags.
 */
export interface PieceStore {
  /** Whether a copy is held (cheap: not re-hashed). */
  has(hash: string): Promise<boolean>;
  /** The stored bytes, or undefined when absent. Undecorated stores do not re-verify. */
  get(hash: string): Promise<Uint8Array | undefined>;
  /** Stores bytes under their hash. Atomic: a crash leaves either no copy or a whole one. */
  put(hash: string, data: Uint8Array): Promise<void>;
  /** Re-reads and re-hashes the stored copy; deletes a corrupt one. True when a good copy is held. */
  verify(hash: string): Promise<boolean>;
  /** Deletes the copy (no error when absent). */
  evict(hash: string): Promise<void>;
  /** Hashes of every stored piece. */
  list(): Promise<string[]>;
}

/** A fully stored model: written only after every one of its pieces is in the store. */
export interface ModelRecord {
  readonly modelId: string;
  /** Hashes of all its pieces (the manifest itself is stored as the piece keyed by `modelId`). */
  readonly pieces: readonly string[];
  readonly bytes: number;
  /** Epoch ms of the last time a peer loaded or completed it (LRU order). */
  readonly lastUsed: number;
}

/**
 * Which models a store holds completely. A half-stored model never has a record, so it is never
 * counted as cached, and eviction removes whole models.
 */
export interface ModelCatalog {
  getModel(modelId: string): Promise<ModelRecord | undefined>;
  /** Call only once all of `record.pieces` are stored. */
  putModel(record: ModelRecord): Promise<void>;
  listModels(): Promise<ModelRecord[]>;
  /** Removes the record only; pieces are evicted separately (they may be shared). */
  deleteModel(modelId: string): Promise<void>;
}

/** A store that also keeps the model catalog (both real stores are). */
export type ModelStore = PieceStore & ModelCatalog;
