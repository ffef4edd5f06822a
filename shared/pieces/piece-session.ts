import { ProtocolViolationError } from '../transport/errors.ts';
import type { CloseEvent, PeerConnection } from '../transport/transport.ts';
import type { Frame } from '../wire/frame-types.ts';
import { decodeBits } from './bitfield.ts';
import { PeerMisbehavedError } from './errors.ts';
import { checkExchangeFrame, isExchangeFrame, VIOLATIONS, type PieceDropReason } from './frame-checks.ts';
import { OutgoingRequests } from './outgoing-requests.ts';
import { PendingOffers } from './pending-offers.ts';
import { pieceKey, type PieceKey } from './piece-ref.ts';
import { MAX_OPEN_PROBES, RangeProbes, type ProbeAnswer } from './range-probe.ts';
import { ServeQueue, type PieceSource } from './serve-queue.ts';

/** Violations (frame-checks.ts) after which the session asks its host to drop the peer. */
export const MAX_VIOLATIONS = 16;

/** What a session needs from its swarm (injected, so a session is testable on its own). */
export interface SessionHost extends PieceSource {
  now(): number;
  /**
   * Pieces of `unit` per the manifest (1 for the manifest itself), 0 for a unit it does not list,
   * undefined while the manifest is not known.
   */
  unitPieces(unit: string): number | undefined;
  /** The remote broke the protocol past bearing (MAX_VIOLATIONS, or a malformed frame): drop it. */
  onMisbehaved(session: PieceSession, detail: string): void;
  /** The remote's HAVE/BITFIELD changed what it offers. */
  onOffer(session: PieceSession): void;
  /**
   * The first piece-exchange frame from the remote arrived: its session is listening now, so what
   * this side announced before (BITFIELDs sent before it subscribed) may be sent again.
   */
  onRemoteListening(session: PieceSession): void;
  /** A PIECE answering one of our requests arrived (not yet verified: the host checks it). */
  onPiece(session: PieceSession, key: PieceKey, data: Uint8Array): void;
  /** A request of ours ended without data (REJECT, timeout, connection closed). */
  onRequestFailed(session: PieceSession, key: PieceKey): void;
  onServed(session: PieceSession, bytes: number): void;
  onClosed(session: PieceSession): void;
}

/**
 * The piece exchange with one remote peer over one PeerConnection: what it offers (BITFIELD,
 * HAVE), our requests to it (REQUEST, CANCEL, answered by PIECE or REJECT), and its requests to us
 * (served from the store in arrival order, bulk priority, one at a time so a slow reader holds one
 * piece in memory, not dozens). Verification and storage are the host's.
 */
export class PieceSession {
  readonly id: string;
  readonly connectedAt: number;
  private readonly offered = new Set<PieceKey>();
  /** Offers made before the manifest was known, checked once it is. */
  private readonly pending = new PendingOffers();
  private readonly drops: Partial<Record<PieceDropReason, number>> = {};
  private violations = 0;
  lastProgressAt: number;
  private readonly requests = new OutgoingRequests();
  /** Ranged one-off requests whose answers go to their caller (`probe`). */
  private readonly probes = new RangeProbes();
  private readonly serving: ServeQueue;
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
    this.serving = new ServeQueue(conn, host, {
      reply: (f) => this.send(f),
      full: () => this.count('serve-queue-full'),
      served: (bytes) => host.onServed(this, bytes),
    });
    this.unsubscribe.push(conn.on('frame', (f) => this.onFrame(f)));
    this.unsubscribe.push(conn.on('close', (e) => this.onClose(e)));
  }

  /** Keys (`unit#i`) the remote announced, checked against the manifest. */
  get has(): Set<PieceKey> {
    if (this.pending.size > 0) this.settlePending();
    return this.offered;
  }

  /** Frames of this peer the piece layer dropped, by reason. */
  get dropped(): Readonly<Partial<Record<PieceDropReason, number>>> {
    return { ...this.drops };
  }

  /** Epoch ms of the last frame (or PONG) from this peer: alive, even when its pieces come slowly. */
  get lastHeard(): number {
    return this.lastHeardAt;
  }

  /** Smoothed bytes/s of its PIECEs to us. */
  get throughput(): number | undefined {
    return this.requests.throughput;
  }

  /** Keys requested from this peer and not yet answered. */
  inFlight(): PieceKey[] {
    return this.requests.keys();
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
    this.requests.add(requestId, unit, piece, length, this.host.now());
    this.send({ type: 'REQUEST', requestId, unit, piece, offset: 0, length });
  }

  /**
   * Asks the remote for `length` bytes at `offset` of one piece (a proof-of-holding challenge,
   * docs/ring.md): the answer goes to the caller, never to the store. `end()` gives up on it (the
   * caller's timeout): it resolves `timeout` and a CANCEL goes out.
   */
  probe(unit: string, piece: number, offset: number, length: number): { readonly answer: Promise<ProbeAnswer>; end(): void } {
    if (this.closed) return { answer: Promise.resolve({ kind: 'unreachable' }), end: () => undefined };
    if (this.probes.size >= MAX_OPEN_PROBES) return { answer: Promise.resolve({ kind: 'rejected', reason: 'too many open probes' }), end: () => undefined };
    const requestId = this.nextRequestId++;
    const answer = this.probes.add(requestId, { unit, piece, offset, length });
    this.send({ type: 'REQUEST', requestId, unit, piece, offset, length });
    return {
      answer,
      end: () => {
        if (this.probes.end(requestId, { kind: 'timeout' })) this.send({ type: 'CANCEL', requestId, unit, piece, offset, length });
      },
    };
  }

  cancel(key: PieceKey): void {
    for (const o of this.requests.cancel(key)) this.send({ type: 'CANCEL', requestId: o.requestId, unit: o.unit, piece: o.piece, offset: 0, length: o.length });
  }

  /** Requests older than `ms` count as failed (a peer that went silent). */
  expire(ms: number): void {
    for (const o of this.requests.sentBy(this.host.now() - ms)) {
      if (!this.requests.isOpen(o.requestId)) continue; // cancelled with an earlier one for the same key
      this.cancel(o.key);
      this.host.onRequestFailed(this, o.key);
    }
  }

  /** Ends the session (a misbehaving peer); the connection's close event finishes the cleanup. */
  drop(err: PeerMisbehavedError): void {
    this.conn.close(err.message);
    this.onClose(undefined);
  }

  /**
   * True while requests wait on a peer that has sent nothing for `ms` (a killed process whose
   * channel has not timed out yet): the scheduler stops counting on it, and a PING decides
   * whether the connection is dead (closed) or only slow.
   */
  stalled(ms: number): boolean {
    const now = this.host.now();
    const oldest = this.requests.oldestSentAt();
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
    if (!isExchangeFrame(f)) return; // ring and control frames belong to other layers
    // Only the remote's swarm session sends these (its ring, PINGs and CREDITs do not): once one
    // arrives, that session is subscribed and everything sent from now on reaches it.
    if (!this.remoteListening) {
      this.remoteListening = true;
      this.host.onRemoteListening(this);
    }
    const pieces = this.host.unitPieces(f.unit);
    const refused = checkExchangeFrame(f, pieces);
    if (refused !== undefined) return this.dropFrame(refused, `${f.type} ${f.unit}#${f.type === 'BITFIELD' ? `[${f.pieceCount}]` : f.piece}`);
    switch (f.type) {
      case 'BITFIELD':
        if (pieces === undefined) {
          if (!this.pending.bitfield(f.unit, f.pieceCount, f.bits)) return this.dropFrame('offers-overflow', `BITFIELD ${f.unit}`);
        } else {
          for (const i of decodeBits(f.pieceCount, f.bits)) this.offered.add(pieceKey(f.unit, i));
        }
        this.host.onOffer(this);
        return;
      case 'HAVE':
        if (pieces === undefined) {
          if (!this.pending.have(f.unit, f.piece)) return this.dropFrame('offers-overflow', `HAVE ${pieceKey(f.unit, f.piece)}`);
        } else {
          this.offered.add(pieceKey(f.unit, f.piece));
        }
        this.lastProgressAt = this.host.now();
        this.host.onOffer(this);
        return;
      case 'REQUEST':
        return this.serving.admit(f);
      case 'CANCEL':
        return this.serving.withdraw(f.requestId);
      case 'PIECE': {
        if (this.probes.settle(f)) return;
        const a = this.requests.answer(f, this.host.now());
        if (a.kind === 'unsolicited') return this.count('unsolicited-piece'); // answer to a request we cancelled (endgame twin): drop the bytes
        if (a.kind === 'mismatch') return this.host.onMisbehaved(this, a.detail);
        return this.host.onPiece(this, a.key, f.data);
      }
      case 'REJECT': {
        if (this.probes.settle(f)) return;
        const o = this.requests.take(f.requestId);
        if (!o) return;
        this.offered.delete(o.key);
        this.host.onRequestFailed(this, o.key);
        return;
      }
    }
  }

  private count(reason: PieceDropReason): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
  }

  /** Counts a dropped frame; past MAX_VIOLATIONS violations the host drops the peer. */
  private dropFrame(reason: PieceDropReason, what: string): void {
    this.count(reason);
    if (!VIOLATIONS.has(reason) || this.closed) return;
    this.violations++;
    if (this.violations === MAX_VIOLATIONS) {
      const tally = Object.entries(this.drops)
        .map(([r, n]) => `${r} ${n}`)
        .join(', ');
      this.host.onMisbehaved(this, `${this.violations} invalid piece frames (${tally}); last: ${reason} in ${what}`);
    }
  }

  /** Offers held from before the manifest, now checked against it (called once it is known). */
  private settlePending(): void {
    const first = this.pending.firstUnit();
    if (first === undefined || this.host.unitPieces(first) === undefined) return; // still unknown
    const problems = this.pending.drain(
      (u) => this.host.unitPieces(u) ?? 0,
      (unit, i) => this.offered.add(pieceKey(unit, i)),
    );
    // Not from inside the scheduler's read of `has`: the drop, if any, comes a microtask later.
    if (problems.length > 0)
      queueMicrotask(() => {
        for (const p of problems) this.dropFrame(p, 'offers made before the manifest');
      });
  }

  /** `e`: how the connection closed (undefined when this session dropped it). */
  private onClose(e: CloseEvent | undefined): void {
    if (this.closed) return;
    this.closed = true;
    for (const u of this.unsubscribe) u();
    this.serving.close();
    const lost = this.requests.drain();
    this.probes.endAll({ kind: 'unreachable' });
    for (const o of lost) this.host.onRequestFailed(this, o.key);
    this.host.onClosed(this);
    // Malformed or oversized bytes closed the link: the same misbehaviour as a bad piece.
    if (e?.error instanceof ProtocolViolationError) {
      const cause = e.error.cause instanceof Error ? `${e.error.cause.name}: ${e.error.cause.message}` : String(e.error.cause);
      this.host.onMisbehaved(this, `protocol violation (${cause})`);
    }
  }
}
