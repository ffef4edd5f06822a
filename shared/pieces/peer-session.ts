import type { PeerConnection } from '../transport/transport.ts';
import type { Frame, FrameOf } from '../wire/frame-types.ts';
import { decodeBits } from './bitfield.ts';
import { PeerMisbehavedError } from './errors.ts';

/** What a session needs from its swarm (injected, so a session is testable on its own). */
export interface SessionHost {
  now(): number;
  /** Verified bytes of a held piece, or undefined (answered with REJECT). */
  readPiece(unit: string, index: number): Promise<Uint8Array | undefined>;
  /** Whether the piece is held or on its way in (an origin read): otherwise a REQUEST is refused at once. */
  mayServe(unit: string, index: number): boolean;
  /** The remote's HAVE/BITFIELD changed what it offers. */
  onOffer(session: PeerSession): void;
  /**
   * The first piece-exchange frame from the remote arrived: its session is listening now, so what
   * this side announced before (BITFIELDs sent before it subscribed) may be sent again.
   */
  onRemoteListening(session: PeerSession): void;
  /** A PIECE answering one of our requests arrived (not yet verified: the host checks it). */
  onPiece(session: PeerSession, key: string, data: Uint8Array): void;
  /** A request of ours ended without data (REJECT, timeout, connection closed). */
  onRequestFailed(session: PeerSession, key: string): void;
  onServed(session: PeerSession, bytes: number): void;
  onClosed(session: PeerSession): void;
}

interface Outstanding {
  readonly key: string;
  readonly unit: string;
  readonly piece: number;
  readonly length: number;
  readonly sentAt: number;
}

/**
 * The piece exchange with one remote peer over one PeerConnection: what it offers (BITFIELD,
 * HAVE), our requests to it (REQUEST, CANCEL, answered by PIECE or REJECT), and its requests to us
 * (served from the store in arrival order, bulk priority, one at a time so a slow reader holds one
 * piece in memory, not dozens). Verification and storage are the host's.
 */
export class PeerSession {
  readonly id: string;
  readonly connectedAt: number;
  /** Keys (`unit#i`) the remote announced. */
  readonly has = new Set<string>();
  lastProgressAt: number;
  /** Smoothed bytes/s of its PIECEs to us. */
  throughput: number | undefined;
  private readonly outstanding = new Map<number, Outstanding>();
  private readonly serveQueue: FrameOf<'REQUEST'>[] = [];
  private serving = false;
  private lastPieceAt = 0;
  private lastHeardAt: number;
  private pinging = false;
  private nextRequestId = 1;
  private closed = false;
  private remoteListening = false;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    readonly conn: PeerConnection,
    private readonly host: SessionHost,
  ) {
    this.id = conn.remotePeerId;
    this.connectedAt = this.lastProgressAt = this.lastHeardAt = host.now();
    this.unsubscribe.push(conn.on('frame', (f) => this.onFrame(f)));
    this.unsubscribe.push(conn.on('close', () => this.onClose()));
  }

  /** Epoch ms of the last frame (or PONG) from this peer: alive, even when its pieces come slowly. */
  get lastHeard(): number {
    return this.lastHeardAt;
  }

  /** Keys requested from this peer and not yet answered. */
  inFlight(): string[] {
    return [...this.outstanding.values()].map((o) => o.key);
  }

  /**
   * Sends a control frame (BITFIELD, HAVE, REQUEST, CANCEL) on the high-priority lane: a few bytes
   * each, they must not wait behind megabytes of PIECE data, or peers would see stale offers and
   * take a busy peer for a stalled one. Only PIECE payloads travel on the bulk lane.
   */
  send(frame: Frame): void {
    if (this.closed) return;
    // A failed send means the connection is going away; its close event cleans up.
    this.conn.send(frame, frame.type === 'PIECE' ? 'bulk' : 'ring').catch(() => undefined);
  }

  request(unit: string, piece: number, length: number): void {
    const requestId = this.nextRequestId++;
    this.outstanding.set(requestId, { key: `${unit}#${piece}`, unit, piece, length, sentAt: this.host.now() });
    this.send({ type: 'REQUEST', requestId, unit, piece, offset: 0, length });
  }

  cancel(key: string): void {
    for (const [requestId, o] of this.outstanding) {
      if (o.key !== key) continue;
      this.outstanding.delete(requestId);
      this.send({ type: 'CANCEL', requestId, unit: o.unit, piece: o.piece, offset: 0, length: o.length });
    }
  }

  /** Requests older than `ms` count as failed (a peer that went silent). */
  expire(ms: number): void {
    const now = this.host.now();
    for (const [requestId, o] of this.outstanding) {
      if (now - o.sentAt < ms) continue;
      this.cancel(o.key);
      this.outstanding.delete(requestId);
      this.host.onRequestFailed(this, o.key);
    }
  }

  /** Ends the session (a misbehaving peer); the connection's close event finishes the cleanup. */
  drop(err: PeerMisbehavedError): void {
    this.conn.close(err.message);
    this.onClose();
  }

  /**
   * True while requests wait on a peer that has sent nothing for `ms` (a killed process whose
   * channel has not timed out yet): the scheduler stops counting on it, and a PING decides
   * whether the connection is dead (closed) or only slow.
   */
  stalled(ms: number): boolean {
    const now = this.host.now();
    let oldest = Number.POSITIVE_INFINITY;
    for (const o of this.outstanding.values()) oldest = Math.min(oldest, o.sentAt);
    if (oldest === Number.POSITIVE_INFINITY || now - Math.max(this.lastHeardAt, oldest) < ms) return false;
    if (!this.pinging) {
      this.pinging = true;
      this.conn
        .ping(4 * ms) // a starved process answers late: only a long silence means a dead connection
        .then(() => (this.lastHeardAt = this.host.now())) // alive, only slow: count on it again
        .catch(() => this.conn.close('no answer to PING'))
        .finally(() => (this.pinging = false));
    }
    return true;
  }

  private onFrame(f: Frame): void {
    this.lastHeardAt = this.host.now();
    // Only the remote's swarm session sends these (its ring, PINGs and CREDITs do not): once one
    // arrives, that session is subscribed and everything sent from now on reaches it.
    if (!this.remoteListening && isExchangeFrame(f)) {
      this.remoteListening = true;
      this.host.onRemoteListening(this);
    }
    switch (f.type) {
      case 'BITFIELD':
        for (const i of decodeBits(f.pieceCount, f.bits)) this.has.add(`${f.unit}#${i}`);
        this.host.onOffer(this);
        return;
      case 'HAVE':
        this.has.add(`${f.unit}#${f.piece}`);
        this.lastProgressAt = this.host.now();
        this.host.onOffer(this);
        return;
      case 'REQUEST':
        if (!this.host.mayServe(f.unit, f.piece)) {
          // Refused at once, not behind the pieces queued for this peer: a probe (scheduler) waits on it.
          this.send({ type: 'REJECT', requestId: f.requestId, unit: f.unit, piece: f.piece, offset: f.offset, length: f.length, reason: 'missing' });
          return;
        }
        this.serveQueue.push(f);
        void this.serveNext();
        return;
      case 'CANCEL': {
        const i = this.serveQueue.findIndex((r) => r.requestId === f.requestId);
        if (i >= 0) this.serveQueue.splice(i, 1);
        return;
      }
      case 'PIECE':
        return this.onPieceFrame(f);
      case 'REJECT': {
        const o = this.outstanding.get(f.requestId);
        if (!o) return;
        this.outstanding.delete(f.requestId);
        this.has.delete(o.key);
        this.host.onRequestFailed(this, o.key);
        return;
      }
      default:
        return; // ring and control frames belong to other layers
    }
  }

  private onPieceFrame(f: FrameOf<'PIECE'>): void {
    const o = this.outstanding.get(f.requestId);
    if (!o) return; // answer to a request we cancelled (endgame twin): drop the bytes
    this.outstanding.delete(f.requestId);
    const now = this.host.now();
    if (o.unit !== f.unit || o.piece !== f.piece || f.offset !== 0) {
      this.drop(new PeerMisbehavedError(this.id, `answered request ${f.requestId} for ${o.key} with ${f.unit}#${f.piece}@${f.offset}`));
      return;
    }
    // Time since the later of our request and its previous piece: with pipelining, the link's rate.
    const elapsed = Math.max(1, now - Math.max(o.sentAt, this.lastPieceAt));
    const rate = (f.data.byteLength * 1000) / elapsed;
    this.throughput = this.throughput === undefined ? rate : 0.7 * this.throughput + 0.3 * rate;
    this.lastPieceAt = now;
    this.host.onPiece(this, o.key, f.data);
  }

  private async serveNext(): Promise<void> {
    if (this.serving) return;
    this.serving = true;
    try {
      for (let r = this.serveQueue.shift(); r && !this.closed; r = this.serveQueue.shift()) {
        const data = await this.host.readPiece(r.unit, r.piece);
        const base = { requestId: r.requestId, unit: r.unit, piece: r.piece, offset: r.offset };
        if (!data || r.offset >= data.byteLength) {
          await this.conn.send({ type: 'REJECT', ...base, length: r.length, reason: data ? 'invalid' : 'missing' }, 'ring');
          continue;
        }
        const slice = data.subarray(r.offset, Math.min(data.byteLength, r.offset + r.length));
        await this.conn.send({ type: 'PIECE', ...base, data: slice }, 'bulk');
        this.host.onServed(this, slice.byteLength);
      }
    } catch {
      // The connection closed mid-send; its close event tears the session down.
    } finally {
      this.serving = false;
    }
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const u of this.unsubscribe) u();
    this.serveQueue.length = 0;
    const lost = [...this.outstanding.values()];
    this.outstanding.clear();
    for (const o of lost) this.host.onRequestFailed(this, o.key);
    this.host.onClosed(this);
  }
}

function isExchangeFrame(f: Frame): boolean {
  return f.type === 'BITFIELD' || f.type === 'HAVE' || f.type === 'REQUEST' || f.type === 'PIECE' || f.type === 'REJECT' || f.type === 'CANCEL';
}
