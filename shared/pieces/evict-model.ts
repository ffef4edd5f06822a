import type { ModelRecord, ModelStore } from './piece-store.ts';

/**
 * Evicts one whole model: its record first (so a half-evicted model is never counted as cached),
 * then its pieces and manifest, except those another cached model (`others`) holds too or that
 * `isPinned` protects (the model being downloaded).
 */
export async function evictWholeModel(
  store: ModelStore,
  victim: ModelRecord,
  others: readonly ModelRecord[],
  isPinned?: (hash: string) => boolean,
): Promise<void> {
  const keep = new Set<string>();
  for (const m of others) if (m.modelId !== victim.modelId) for (const h of [m.modelId, ...m.pieces]) keep.add(h);
  await store.deleteModel(victim.modelId);
  for (const h of [victim.modelId, ...victim.pieces]) {
    if (!keep.has(h) && isPinned?.(h) !== true) await store.evict(h);
  }
}
