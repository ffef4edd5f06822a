import type { CorruptPieceError } from '../../shared/pieces/errors.ts';
import type { ModelRecord, ModelStore } from '../../shared/pieces/piece-store.ts';
import { withLru } from '../../shared/pieces/with-lru.ts';
import { withVerification } from '../../shared/pieces/with-verification.ts';
import { IdbPieceStore } from './idb-piece-store.ts';

export interface BrowserStoreOptions {
  /** IndexedDB database name prefix (default 'ringmesh'). */
  readonly name?: string;
  /** Told about each whole model evicted to make room (the page can say so). */
  readonly onEvict?: (record: ModelRecord) => void;
  readonly onCorrupt?: (err: CorruptPieceError) => void;
  /** Pieces that must survive eviction (the model being downloaded). */
  readonly isPinned?: (hash: string) => boolean;
}

/**
 * The store a browser peer uses: IndexedDB, least-recently-used eviction of whole models when the
 * quota is full, and verification of everything written and read (outermost, so a corrupt copy is
 * caught before anything else sees it).
 */
export function createBrowserStore(opts: BrowserStoreOptions = {}): { store: ModelStore; idb: IdbPieceStore } {
  const idb = new IdbPieceStore({ ...(opts.name ? { name: opts.name } : {}), ...(opts.onCorrupt ? { onCorrupt: opts.onCorrupt } : {}) });
  const lru = withLru(idb, {
    now: () => Date.now(),
    ...(opts.onEvict ? { onEvict: opts.onEvict } : {}),
    ...(opts.isPinned ? { isPinned: opts.isPinned } : {}),
  });
  return { store: withVerification(lru, opts.onCorrupt ? { onCorrupt: opts.onCorrupt } : {}), idb };
}
