import { RingmeshError } from '../../shared/errors.ts';
import type { ModelManifest, UnitName } from '../../shared/model/manifest.ts';
import { evictWholeModel } from '../../shared/pieces/evict-model.ts';
import { planEviction } from '../../shared/pieces/eviction-plan.ts';
import type { ModelStore } from '../../shared/pieces/piece-store.ts';
import type { UnitSource } from '../../shared/ring/ring-peer.ts';
import type { StorageCheck } from '../state/app-state.ts';

const MiB = 2 ** 20;
const mb = (n: number): string => `${(n / MiB).toFixed(1)} MB`;

/** This tab's units do not fit in the origin's storage quota even after evicting every other model. */
export class StorageShortError extends RingmeshError {
  constructor(readonly check: StorageCheck & { readonly short: NonNullable<StorageCheck['short']> }) {
    const s = check.short;
    super(
      `not enough browser storage: this tab's layers need ${mb(check.missingBytes)} more (${mb(check.neededBytes)} in all), ` +
        `the site's quota is ${mb(check.quota)} with ${mb(check.usage)} used, and evicting every other cached model frees only ${mb(s.evictableBytes)}: ` +
        `${mb(s.shortBytes)} short, so nothing was downloaded`,
    );
  }
}

export interface StorageGuardOptions {
  readonly inner: UnitSource;
  readonly manifest: ModelManifest;
  /** The current room's model: never evicted. */
  readonly modelId: string;
  readonly store: ModelStore;
  /** `navigator.storage.estimate()`; undefined (or no quota) skips the check. */
  readonly estimate: () => Promise<{ usage?: number; quota?: number } | undefined>;
  /** Asks for persistent storage (once; the caller remembers). */
  readonly persist: () => Promise<void>;
  /** A cached model's display name (its stored manifest). */
  readonly nameOf: (modelId: string) => Promise<string>;
  readonly onCheck: (check: StorageCheck) => void;
}

/**
 * A UnitSource that checks the quota before the pieces of the asked-for units are downloaded
 * (docs/web-page.md, "Storage"): it asks for persistent storage, measures what the units need
 * from the manifest's unit sizes, evicts whole cached models (least recently used, never the
 * room's) when the quota is short, and refuses with StorageShortError, downloading nothing, when
 * even that would not make room. Checks run one at a time, so two loads do not plan against the
 * same free space.
 */
export class StorageGuard implements UnitSource {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: StorageGuardOptions) {}

  async fetchUnits(units: readonly UnitName[]): Promise<Map<UnitName, Uint8Array>> {
    const checked = this.queue.then(() => this.check(units));
    this.queue = checked.catch(() => undefined);
    await checked;
    return this.opts.inner.fetchUnits(units);
  }

  private async check(units: readonly UnitName[]): Promise<void> {
    const { manifest, store } = this.opts;
    await this.opts.persist();
    const wanted = new Set(units);
    let neededBytes = 0;
    let missingBytes = 0;
    for (const unit of manifest.units) {
      if (!wanted.has(unit.name)) continue;
      neededBytes += unit.bytes;
      for (const [i, hash] of unit.pieces.entries()) {
        if (!(await store.has(hash))) missingBytes += Math.min(manifest.pieceSize, unit.bytes - i * manifest.pieceSize);
      }
    }
    const estimate = await this.opts.estimate().catch(() => undefined);
    const usage = estimate?.usage ?? 0;
    const quota = estimate?.quota;
    if (quota === undefined) return; // no quota to check against: the store's LRU answers a full disk
    const base = { usage, quota, neededBytes, missingBytes };
    if (missingBytes === 0) return this.opts.onCheck({ ...base, evicted: [], short: null });
    const models = await store.listModels();
    // IndexedDB's own overhead per entry is small; keep 1/64 of the download (at least 1 MiB) spare.
    const reserveBytes = Math.max(MiB, Math.ceil(missingBytes / 64));
    const plan = planEviction({ usage, quota, neededBytes: missingBytes, reserveBytes, models, keep: new Set([this.opts.modelId]) });
    if (plan.kind === 'short') {
      const short = { freeBytes: plan.freeBytes, evictableBytes: plan.evictableBytes, wantBytes: plan.wantBytes, shortBytes: plan.shortBytes };
      this.opts.onCheck({ ...base, evicted: [], short });
      throw new StorageShortError({ ...base, evicted: [], short });
    }
    // The room's pieces stay even when a victim shares them (content-addressed store).
    const pinned = new Set([this.opts.modelId, ...manifest.units.flatMap((u) => u.pieces)]);
    const evicted: string[] = [];
    let remaining = models;
    for (const id of plan.evict) {
      const victim = remaining.find((m) => m.modelId === id);
      if (victim === undefined) continue;
      const name = await this.opts.nameOf(id);
      remaining = remaining.filter((m) => m !== victim);
      await evictWholeModel(store, victim, remaining, (h) => pinned.has(h));
      evicted.push(name);
    }
    this.opts.onCheck({ ...base, evicted, short: null });
  }
}
