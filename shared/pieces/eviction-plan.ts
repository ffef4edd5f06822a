/** A whole cached model as the eviction plan sees it. */
export interface EvictionCandidate {
  readonly modelId: string;
  /** Bytes its eviction frees (its record's size). */
  readonly bytes: number;
  /** Epoch ms of its last use: the oldest goes first. */
  readonly lastUsed: number;
}

export interface EvictionInput {
  /** What this origin uses now (`navigator.storage.estimate().usage`). */
  readonly usage: number;
  readonly quota: number;
  /** Bytes about to be written (the pieces of this tab's units not yet stored). */
  readonly neededBytes: number;
  /** Kept free on top of `neededBytes`: storage overhead per entry. */
  readonly reserveBytes?: number;
  readonly models: readonly EvictionCandidate[];
  /** Never evicted (the current room's model). */
  readonly keep: ReadonlySet<string>;
}

export type EvictionPlan =
  /** Evict `evict` (oldest first; empty when it fits already), then `freeBytes` are free. */
  | { readonly kind: 'fits'; readonly evict: readonly string[]; readonly freeBytes: number; readonly wantBytes: number }
  /** Even evicting every other model leaves `shortBytes` missing: evict nothing, download nothing. */
  | { readonly kind: 'short'; readonly freeBytes: number; readonly evictableBytes: number; readonly wantBytes: number; readonly shortBytes: number };

const bytes = (n: number): number => (Number.isFinite(n) && n > 0 ? n : 0);

/**
 * Which whole models to evict so that `neededBytes` (+ reserve) fit in the quota: least recently
 * used first (ties by id, so the plan is deterministic), never one in `keep`, and only as many as
 * needed. When even all of them would not make room, nothing is evicted (losing a cached model
 * would not let the download finish). Freed bytes are the records' sizes: a piece shared with a
 * kept model is counted as freed, an overestimate the store's own LRU covers when a write fails.
 */
export function planEviction(input: EvictionInput): EvictionPlan {
  const wantBytes = bytes(input.neededBytes) + bytes(input.reserveBytes ?? 0);
  const free = Math.max(0, bytes(input.quota) - bytes(input.usage));
  if (free >= wantBytes) return { kind: 'fits', evict: [], freeBytes: free, wantBytes };
  const candidates = input.models
    .filter((m) => !input.keep.has(m.modelId))
    .sort((a, b) => a.lastUsed - b.lastUsed || (a.modelId < b.modelId ? -1 : a.modelId > b.modelId ? 1 : 0));
  const evict: string[] = [];
  let freed = free;
  for (const m of candidates) {
    evict.push(m.modelId);
    freed += bytes(m.bytes);
    if (freed >= wantBytes) return { kind: 'fits', evict, freeBytes: freed, wantBytes };
  }
  return { kind: 'short', freeBytes: free, evictableBytes: freed - free, wantBytes, shortBytes: wantBytes - freed };
}
