import type { ModelStore } from '../../shared/pieces/piece-store.ts';
import type { AppState, CachedModel } from '../stores/app-state.ts';
import type { Store } from '../stores/store.ts';

/**
 * What a returning visitor has cached: the complete models in the piece store (name from their
 * stored manifest, size) and the storage this origin uses; `clear()` removes every piece and record.
 */
export class CacheController {
  constructor(
    private readonly app: Store<AppState>,
    private readonly store: ModelStore,
  ) {}

  async refresh(): Promise<void> {
    const records = await this.store.listModels();
    const cached: CachedModel[] = [];
    for (const r of records) cached.push({ modelId: r.modelId, name: await this.modelName(r.modelId), bytes: r.bytes });
    const estimate = await navigator.storage?.estimate?.().catch(() => undefined);
    const pieces = await this.store.list();
    this.app.update({ cached, storageBytes: pieces.length === 0 ? 0 : (estimate?.usage ?? null) });
  }

  async clear(): Promise<void> {
    for (const r of await this.store.listModels()) await this.store.deleteModel(r.modelId);
    for (const hash of await this.store.list()) await this.store.evict(hash);
    await this.refresh();
  }

  private async modelName(modelId: string): Promise<string> {
    // The manifest is stored as the piece keyed by the model id.
    const bytes = await this.store.get(modelId).catch(() => undefined);
    if (bytes === undefined) return modelId.slice(0, 12);
    try {
      return String((JSON.parse(new TextDecoder().decode(bytes)) as { name?: unknown }).name ?? modelId.slice(0, 12));
    } catch {
      return modelId.slice(0, 12); // not a manifest after all: show the id
    }
  }
}
