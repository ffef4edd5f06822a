import { createStore, del, get, keys, promisifyRequest, set, values, type UseStore } from 'idb-keyval';
import { sha256Hex } from '../../shared/crypto/sha256.ts';
import { CorruptPieceError, StoreIoError, StoreQuotaError } from '../../shared/pieces/errors.ts';
import type { ModelRecord, ModelStore } from '../../shared/pieces/piece-store.ts';

export interface IdbStoreOptions {
  /** IndexedDB database name prefix; tests use their own. */
  readonly name?: string;
  readonly onCorrupt?: (err: CorruptPieceError) => void;
}

/**
 * `BrowserStore`: pieces in IndexedDB through idb-keyval, keyed by piece hash (content-addressed),
 * and a separate object store of model records, each written only after all of that model's
 * pieces are stored, so a half-stored model is never counted as cached. A full quota surfaces as
 * StoreQuotaError, which `withLru` answers by evicting whole models, oldest first. IndexedDB
 * persists across reloads and browser restarts (a returning visitor loads from here).
 */
export class IdbPieceStore implements ModelStore {
  private readonly pieces: UseStore;
  private readonly models: UseStore;

  constructor(private readonly opts: IdbStoreOptions = {}) {
    const name = opts.name ?? 'ringmesh';
    this.pieces = createStore(`${name}-pieces`, 'pieces');
    this.models = createStore(`${name}-models`, 'models');
  }

  async has(hash: string): Promise<boolean> {
    const n = await this.pieces('readonly', (s) => promisifyRequest(s.count(hash)));
    return n > 0;
  }

  async get(hash: string): Promise<Uint8Array | undefined> {
    return this.guard(hash, 0, () => get<Uint8Array>(hash, this.pieces));
  }

  async put(hash: string, data: Uint8Array): Promise<void> {
    if (await this.has(hash)) return;
    // Store an exact-size copy: a view into a bigger buffer would store the whole buffer.
    const copy = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice();
    await this.guard(hash, data.byteLength, () => set(hash, copy, this.pieces));
  }

  async verify(hash: string): Promise<boolean> {
    const data = await this.get(hash);
    if (!data) return false;
    if ((await sha256Hex(data)) === hash) return true;
    await this.evict(hash);
    this.opts.onCorrupt?.(new CorruptPieceError(hash, 'IndexedDB'));
    return false;
  }

  async evict(hash: string): Promise<void> {
    await del(hash, this.pieces);
  }

  async list(): Promise<string[]> {
    return (await keys<string>(this.pieces)).sort();
  }

  async getModel(modelId: string): Promise<ModelRecord | undefined> {
    return get<ModelRecord>(modelId, this.models);
  }

  async putModel(record: ModelRecord): Promise<void> {
    await this.guard(record.modelId, 0, () => set(record.modelId, { ...record, pieces: [...record.pieces] }, this.models));
  }

  async listModels(): Promise<ModelRecord[]> {
    return (await values<ModelRecord>(this.models)).sort((a, b) => (a.modelId < b.modelId ? -1 : 1));
  }

  async deleteModel(modelId: string): Promise<void> {
    await del(modelId, this.models);
  }

  /** Maps IndexedDB failures to typed errors; a full quota is the one callers can act on. */
  private async guard<T>(key: string, bytes: number, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      const name = (err as { name?: string } | null)?.name;
      if (name === 'QuotaExceededError') throw new StoreQuotaError(bytes, undefined, { cause: err });
      throw new StoreIoError(`IndexedDB ${key}`, { cause: err });
    }
  }
}
