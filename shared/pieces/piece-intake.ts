// Every piece this peer takes in (docs/pieces.md, "Exchange"): from peers, from the origin and
// from its own package, each goes through the verifying store (LocalPieces.put: one SHA-256) and
// is announced with HAVE once stored; a peer whose bytes the store refused is dropped and banned.
import { isBadPiece, isOriginError } from './errors.ts';
import type { LocalPieces, PieceArrival } from './local-pieces.ts';
import type { OriginCoordination } from './origin-coordination.ts';
import type { Origin } from './origin.ts';
import { keyOf, type PieceKey, type PieceRef } from './piece-ref.ts';
import type { PieceSession } from './piece-session.ts';
import type { SwarmPeers } from './swarm-peers.ts';

export interface IntakeHooks {
  /** A piece was stored and announced. */
  stored(): void;
  /** An origin read failed after its retries, or the store refused its bytes. */
  originFailed(err: Error): void;
  /** An origin read ended, either way. */
  originSettled(): void;
}

export class PieceIntake {
  private closed = false;

  constructor(
    private readonly pieces: LocalPieces,
    private readonly peers: SwarmPeers,
    private readonly origin: OriginCoordination,
    private readonly sources: { readonly origin?: Origin; readonly localPackage?: Origin },
    private readonly hooks: IntakeHooks,
  ) {}

  /** A PIECE from `from` answering our request for `key`. */
  async fromPeer(key: PieceKey, data: Uint8Array, from: PieceSession): Promise<void> {
    const ref = this.pieces.catalog?.get(key);
    if (!ref) return;
    try {
      await this.store(key, ref, data, 'peer');
    } catch (err) {
      // The verifying store hashed the bytes once and refused them: this peer sent a bad piece.
      if (!isBadPiece(err)) throw err;
      this.peers.drop(from, `sent ${key} with a bad sha256 or length (expected ${ref.hash.slice(0, 12)}…, ${ref.length} bytes)`);
    }
  }

  /** A seed's own package: every wanted piece read, verified and stored, announced as it lands. */
  async importLocal(wanted: readonly { readonly ref: PieceRef }[]): Promise<void> {
    for (const { ref } of wanted) {
      if (this.closed) return;
      const key = keyOf(ref);
      if (this.pieces.busy(key)) continue;
      const data = await this.sources.localPackage!.read(ref.file, { offset: ref.offset, length: ref.length });
      await this.store(key, ref, data, 'cache');
    }
  }

  /** Reads `ref` from the origin; a probe for it meanwhile waits for the read (`OriginCoordination.landing`). */
  fromOrigin(ref: PieceRef): Promise<void> {
    const key = keyOf(ref);
    return this.origin.land(key, this.readOrigin(ref, key));
  }

  /** No more imports (the swarm closed). */
  close(): void {
    this.closed = true;
  }

  private async readOrigin(ref: PieceRef, key: PieceKey): Promise<void> {
    this.origin.reading.add(key);
    try {
      const data = await this.sources.origin!.read(ref.file, { offset: ref.offset, length: ref.length });
      await this.store(key, ref, data, 'origin');
    } catch (err) {
      // A failing origin, or one whose bytes the store refused: pause it and try again later.
      if (!isBadPiece(err) && !isOriginError(err)) throw err;
      this.hooks.originFailed(err as Error);
    } finally {
      this.origin.reading.delete(key);
      this.hooks.originSettled();
    }
  }

  /** Stores `data` as `ref` (verified: LocalPieces.put) and announces it to everyone. */
  private async store(key: PieceKey, ref: PieceRef, data: Uint8Array, from: PieceArrival): Promise<void> {
    if (!(await this.pieces.put(key, ref, data, from))) return;
    this.origin.stored(key);
    this.peers.broadcast({ type: 'HAVE', requestId: 0, unit: ref.unit, piece: ref.index });
    this.hooks.stored();
  }
}
