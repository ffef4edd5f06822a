// Where a swarm's manifest comes from (docs/pieces.md, "Exchange"): its store or its own package
// at start, else a peer that announced it (piece `manifest#0`), else the origin once peers had a
// grace to answer. Whatever arrives is checked against the model id; the first good one wins.
import type { ModelStore } from './piece-store.ts';
import { manifestFromFile, type ManifestPiece } from './manifest-bytes.ts';
import type { Origin } from './origin.ts';
import { MANIFEST_UNIT } from './piece-catalog.ts';
import type { PieceSession } from './piece-session.ts';

export interface ManifestHooks {
  /** Manifest bytes read from the origin: checked and accepted like any (the swarm's `acceptManifest`). */
  accept(fileBytes: Uint8Array): Promise<void>;
  /** The origin read (or accepting what it returned) failed. */
  originFailed(err: Error): void;
  /** An origin fetch ended either way: time to look again. */
  settled(): void;
}

export class ManifestSource {
  /** The source a fetch waits on: a new fetch starts only when idle. */
  private fetching: 'idle' | 'peer' | 'origin' = 'idle';
  private accepting = false;
  private piece: ManifestPiece | undefined;

  constructor(
    private readonly modelId: string,
    private readonly store: ModelStore,
    private readonly hooks: ManifestHooks,
  ) {}

  /** Whether a fetch is under way (a new one starts only when not). */
  get busy(): boolean {
    return this.fetching !== 'idle';
  }

  /** The accepted manifest's canonical bytes (served to peers as `manifest#0`), once stored. */
  get bytes(): Uint8Array | undefined {
    return this.piece?.bytes;
  }

  /**
   * Checks `fileBytes` against the model id (throws on a wrong manifest: the caller drops its
   * sender) and stores it. Undefined when another manifest was accepted first.
   */
  async accept(fileBytes: Uint8Array): Promise<ManifestPiece | undefined> {
    if (this.accepting) return undefined;
    const m = await manifestFromFile(this.modelId, fileBytes);
    if (this.accepting) return undefined; // another one was checked meanwhile
    this.accepting = true;
    await this.store.put(this.modelId, m.bytes);
    this.piece = m;
    return m;
  }

  /**
   * Starts one fetch unless one is under way: from `holder` (a peer that announced the manifest),
   * else from `origin` (given only once the caller's grace is over and the origin is not paused).
   */
  fetch(holder: PieceSession | undefined, origin: Origin | undefined): void {
    if (this.fetching !== 'idle') return;
    if (holder) {
      this.fetching = 'peer';
      holder.request(MANIFEST_UNIT, 0, 0xffffffff);
      return;
    }
    if (!origin) return;
    this.fetching = 'origin';
    void origin
      .read('manifest.json')
      .then((bytes) => this.hooks.accept(bytes))
      .catch((err: unknown) => this.hooks.originFailed(err as Error))
      .finally(() => {
        this.fetching = 'idle';
        this.hooks.settled();
      });
  }

  /** A peer's manifest arrived (whatever `accept` makes of it): the next tick may fetch again. */
  received(): void {
    this.fetching = 'idle';
  }

  /** A session closed, or a manifest request failed: if the fetch waited on a peer, it waits no more. */
  peerGone(): void {
    if (this.fetching === 'peer') this.fetching = 'idle';
  }
}
