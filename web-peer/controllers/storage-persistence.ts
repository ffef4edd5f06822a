import type { AppState } from '../state/app-state.ts';
import type { Store } from '../state/store.ts';

/** The part of `navigator.storage` this needs (absent on insecure origins and old browsers). */
export interface PersistApi {
  persisted?(): Promise<boolean>;
  persist?(): Promise<boolean>;
}

/**
 * Persistent storage for the cached model: `show()` reads whether it is granted (no prompt, on
 * load); `request()` asks the browser once — when the visitor contributes or a download starts,
 * never on load — and shows the answer. Without persistence the browser may clear the cache
 * under storage pressure.
 */
export class StoragePersistence {
  private asked: Promise<void> | null = null;

  constructor(
    private readonly app: Store<AppState>,
    private readonly api: PersistApi | undefined,
  ) {}

  async show(): Promise<void> {
    if (this.api?.persist === undefined) return this.app.update({ persistence: 'unsupported' });
    const granted = await this.api.persisted?.().catch(() => false);
    if (granted === true && this.asked === null) this.app.update({ persistence: 'granted' });
  }

  /** Asks once; later calls wait for the first answer. */
  request(): Promise<void> {
    this.asked ??= this.ask();
    return this.asked;
  }

  private async ask(): Promise<void> {
    const persist = this.api?.persist;
    if (persist === undefined) return this.app.update({ persistence: 'unsupported' });
    // A browser that refuses by throwing has said no as much as one answering false.
    const granted = await persist.call(this.api).catch(() => false);
    this.app.update({ persistence: granted ? 'granted' : 'denied' });
  }
}
