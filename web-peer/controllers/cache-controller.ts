import type { ModelManifest } from '../../shared/model/manifest.ts';
import type { ModelStore } from '../../shared/pieces/piece-store.ts';
import type { AppState, CachedModel } from '../state/app-state.ts';
import type { Store } from '../state/store.ts';

/**
 * What a returning visitor has cached: every complete model in the piece store, plus the share of
 * `currentModelId` this tab holds (a contributing tab keeps only its layers' pieces), each with its
 * name from the stored manifest and its size; and the storage this origin uses and its quota (0 used
 * when it holds nothing but room manifests). `clear()` removes every piece and record.
 */
export class CacheController {
  constructor(
    private readonly app: Store<AppState>,
    private readonly store: ModelStore,
    private readonly currentModelId: string | null = null,
  ) {}

  async refresh(): Promise<void> {
    const cached: CachedModel[] = [];
    for (const r of await this.store.listModels()) {
      const manifest = await this.manifest(r.modelId);
      cached.push({ modelId: r.modelId, name: manifest?.name ?? r.modelId.slice(0, 12), bytes: r.bytes, totalBytes: r.bytes });
    }
    const current = this.currentModelId;
    if (current !== null && !cached.some((m) => m.modelId === current)) {
      const partial = await this.partial(current);
      if (partial !== null) cached.push(partial);
    }
    const estimate = await navigator.storage?.estimate?.().catch(() => undefined);
    // Joining a room stores its manifest (keyed by the model id) before any piece: a fresh visitor
    // holding only that has nothing cached to show or clear.
    const manifests = new Set([...cached.map((m) => m.modelId), ...(current === null ? [] : [current])]);
    const pieces = (await this.store.list()).filter((hash) => !manifests.has(hash));
    const holds = cached.length > 0 || pieces.length > 0;
    this.app.update({ cached, storageBytes: holds ? (estimate?.usage ?? null) : 0, storageQuota: estimate?.quota ?? null });
  }

  async clear(): Promise<void> {
    for (const r of await this.store.listModels()) await this.store.deleteModel(r.modelId);
    for (const hash of await this.store.list()) await this.store.evict(hash);
    await this.refresh();
  }

  /** A cached model's name from its stored manifest (a short id when none is stored). */
  async nameOf(modelId: string): Promise<string> {
    return (await this.manifest(modelId))?.name ?? modelId.slice(0, 12);
  }

  /** The pieces of an incomplete model held here; null when none (or its manifest is not stored). */
  private async partial(modelId: string): Promise<CachedModel | null> {
    const manifest = await this.manifest(modelId);
    if (manifest === undefined) return null;
    let bytes = 0;
    let totalBytes = 0;
    for (const unit of manifest.units) {
      for (const [i, hash] of unit.pieces.entries()) {
        const length = Math.min(manifest.pieceSize, unit.bytes - i * manifest.pieceSize);
        totalBytes += length;
        if (await this.store.has(hash)) bytes += length;
      }
    }
    return bytes === 0 ? null : { modelId, name: manifest.name, bytes, totalBytes };
  }

  /** The manifest is stored as the piece keyed by the model id. */
  private async manifest(modelId: string): Promise<ModelManifest | undefined> {
    const bytes = await this.store.get(modelId).catch(() => undefined);
    if (bytes === undefined) return undefined;
    try {
      return JSON.parse(new TextDecoder().decode(bytes)) as ModelManifest;
    } catch {
      return undefined; // not a manifest after all: the caller shows the id
    }
  }
}
