// Our whole-piece REQUESTs to one peer until they are answered (PIECE, REJECT), cancelled or
// expired, and the link's rate measured from the answers (the scheduler's source choice).
import type { FrameOf } from '../wire/frame-types.ts';
import { pieceKey, type PieceKey } from './piece-ref.ts';

export interface Outstanding {
  readonly requestId: number;
  readonly key: PieceKey;
  readonly unit: string;
  readonly piece: number;
  readonly length: number;
  readonly sentAt: number;
}

/** What a PIECE frame was to our requests. */
export type PieceAnswer =
  | { readonly kind: 'piece'; readonly key: PieceKey }
  /** No open request has its id: one we cancelled (an endgame twin), or never sent. */
  | { readonly kind: 'unsolicited' }
  /** Another piece, offset or a longer answer than asked: the peer broke the protocol. */
  | { readonly kind: 'mismatch'; readonly detail: string };

export class OutgoingRequests {
  private readonly open = new Map<number, Outstanding>();
  private lastPieceAt = 0;
  private rate: number | undefined;

  /** Smoothed bytes/s of the peer's PIECEs to us; undefined until one arrived. */
  get throughput(): number | undefined {
    return this.rate;
  }

  add(requestId: number, unit: string, piece: number, length: number, now: number): void {
    this.open.set(requestId, { requestId, key: pieceKey(unit, piece), unit, piece, length, sentAt: now });
  }

  keys(): PieceKey[] {
    return [...this.open.values()].map((o) => o.key);
  }

  isOpen(requestId: number): boolean {
    return this.open.has(requestId);
  }

  /** Epoch ms of the oldest open request; +Infinity when none is open. */
  oldestSentAt(): number {
    let oldest = Number.POSITIVE_INFINITY;
    for (const o of this.open.values()) oldest = Math.min(oldest, o.sentAt);
    return oldest;
  }

  /** The open requests sent at or before `before` (a snapshot). */
  sentBy(before: number): Outstanding[] {
    return [...this.open.values()].filter((o) => o.sentAt <= before);
  }

  /** Closes every request for `key` and returns them (each needs a CANCEL). */
  cancel(key: PieceKey): Outstanding[] {
    const gone = [...this.open.values()].filter((o) => o.key === key);
    for (const o of gone) this.open.delete(o.requestId);
    return gone;
  }

  /** Closes the request a REJECT answered; undefined when none has its id. */
  take(requestId: number): Outstanding | undefined {
    const o = this.open.get(requestId);
    this.open.delete(requestId);
    return o;
  }

  /** Closes every request (the connection is gone) and returns them. */
  drain(): Outstanding[] {
    const all = [...this.open.values()];
    this.open.clear();
    return all;
  }

  /** Matches a PIECE to its request and, when it fits, counts it toward the link's rate. */
  answer(f: FrameOf<'PIECE'>, now: number): PieceAnswer {
    const o = this.take(f.requestId);
    if (!o) return { kind: 'unsolicited' };
    if (o.unit !== f.unit || o.piece !== f.piece || f.offset !== 0 || f.data.byteLength > o.length) {
      const got = `${f.data.byteLength} bytes of ${pieceKey(f.unit, f.piece)}@${f.offset}`;
      return { kind: 'mismatch', detail: `answered request ${f.requestId} for ${o.key} (≤ ${o.length} bytes) with ${got}` };
    }
    // Time since the later of our request and its previous piece: with pipelining, the link's rate.
    const elapsed = Math.max(1, now - Math.max(o.sentAt, this.lastPieceAt));
    const rate = (f.data.byteLength * 1000) / elapsed;
    this.rate = this.rate === undefined ? rate : 0.7 * this.rate + 0.3 * rate;
    this.lastPieceAt = now;
    return { kind: 'piece', key: o.key };
  }
}
