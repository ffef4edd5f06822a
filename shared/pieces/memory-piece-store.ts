import { StoreQuotaError } from './errors.ts';
import type { ModelRecord, ModelStore } from './piece-store.ts';

/**
 * A store in memory: for tests and for peers that keep nothing between runs. `capacityBytes`
 * imitates a storage quota (puts beyond it throw StoreQuotaError), so eviction can be tested purely.
 */
export class MemoryPieceStore implements ModelStore {
  private readonly pieces = new Map<string, Uint8Array>();
  private readonly models = new Map<string, ModelRecord>();
  private used = 0;

  constructor(private readonly capacityBytes = Number.POSITIVE_INFINITY) {}

  async has(hash: string): Promise<boolean> {
    return this.pieces.has(hash);
  }
  async get(hash: string): Promise<Uint8Array | undefined> {
    const data = this.pieces.get(hash);
    return data && data.slice();
  }
  async put(hash: string, data: Uint8Array): Promise<void> {
    if (this.pieces.has(hash)) return;
    if (this.used + data.length > this.capacityBytes) throw new StoreQuotaError(data.length, undefined);
    this.pieces.set(hash, data.slice());
    this.used += data.length;
  }
  async verify(hash: string): Promise<boolean> {
    return this.pieces.has(hash);
  }
  async evict(hash: string): Promise<void> {
    const data = this.pieces.get(hash);
    if (!data) return;
    this.used -= data.length;
    this.pieces.delete(hash);
  }
  async list(): Promise<string[]> {
    return [...this.pieces.keys()];
  }
  async getModel(modelId: string): Promise<ModelRecord | undefined> {
    return this.models.get(modelId);
  }
  async putModel(record: ModelRecord): Promise<void> {
    this.models.set(record.modelId, record);
  }
  async listModels(): Promise<ModelRecord[]> {
    return [...this.models.values()];
  }
  async deleteModel(modelId: string): Promise<void> {
    this.models.delete(modelId);
  }
  /** Test hook: overwrite stored bytes in place, as disk corruption would. */
  corrupt(hash: string, data: Uint8Array): void {
    if (this.pieces.has(hash)) this.pieces.set(hash, data.slice());
  }
}
