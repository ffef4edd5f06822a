// The remote's REQUESTs to us, served in arrival order one at a time: a slow reader then holds one
// piece in memory, not dozens (docs/pieces.md, "Exchange").
import type { PeerConnection } from '../transport/transport.ts';
import type { Frame, FrameOf, RejectReason } from '../wire/frame-types.ts';

/**
 * REQUESTs one peer may have waiting to be served; more are answered REJECT busy. The scheduler
 * keeps at most `maxPerPeer` (8) requests in flight to a peer, so honest peers stay far below.
 */
export const MAX_QUEUED_REQUESTS = 256;

/** Where served bytes come from (the swarm). */
export interface PieceSource {
  /** Verified bytes of a held piece, or undefined (answered with REJECT). */
  readPiece(unit: string, index: number): Promise<Uint8Array | undefined>;
  /** Whether the piece is held or on its way in (an origin read): otherwise a REQUEST is refused at once. */
  mayServe(unit: string, index: number): boolean;
}

export interface ServeHooks {
  /** Sends a control frame (REJECT) on the high-priority lane. */
  reply(frame: Frame): void;
  /** A REQUEST was refused because the queue was full. */
  full(): void;
  served(bytes: number): void;
}

export class ServeQueue {
  private readonly queue: FrameOf<'REQUEST'>[] = [];
  private serving = false;
  private closed = false;

  constructor(
    private readonly conn: PeerConnection,
    private readonly source: PieceSource,
    private readonly hooks: ServeHooks,
  ) {}

  /** Queues a REQUEST, or refuses it at once (queue full, piece neither held nor on its way). */
  admit(f: FrameOf<'REQUEST'>): void {
    if (this.queue.length >= MAX_QUEUED_REQUESTS) {
      this.hooks.full();
      return this.reject(f, 'busy');
    }
    // Refused at once, not behind the pieces queued for this peer: a probe (scheduler) waits on it.
    if (!this.source.mayServe(f.unit, f.piece)) return this.reject(f, 'missing');
    this.queue.push(f);
    void this.run();
  }

  /** The remote withdrew a REQUEST (CANCEL with its id): not served if still queued. */
  withdraw(requestId: number): void {
    const i = this.queue.findIndex((r) => r.requestId === requestId);
    if (i >= 0) this.queue.splice(i, 1);
  }

  /** The connection is gone: nothing more is served. */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
  }

  private reject(f: FrameOf<'REQUEST'>, reason: RejectReason): void {
    this.hooks.reply({ type: 'REJECT', requestId: f.requestId, unit: f.unit, piece: f.piece, offset: f.offset, length: f.length, reason });
  }

  private async run(): Promise<void> {
    if (this.serving) return;
    this.serving = true;
    try {
      for (let r = this.queue.shift(); r && !this.closed; r = this.queue.shift()) {
        const data = await this.source.readPiece(r.unit, r.piece);
        const base = { requestId: r.requestId, unit: r.unit, piece: r.piece, offset: r.offset };
        if (!data || r.offset >= data.byteLength) {
          await this.conn.send({ type: 'REJECT', ...base, length: r.length, reason: data ? 'invalid' : 'missing' }, 'ring');
          continue;
        }
        const slice = data.subarray(r.offset, Math.min(data.byteLength, r.offset + r.length));
        await this.conn.send({ type: 'PIECE', ...base, data: slice }, 'bulk');
        this.hooks.served(slice.byteLength);
      }
    } catch {
      // The connection closed mid-send; its close event tears the session down.
    } finally {
      this.serving = false;
    }
  }
}
