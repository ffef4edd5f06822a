// The swarm's side of every piece session (docs/pieces.md, "Exchange"): one session per connected
// peer, the peers banned for bad data, and what the swarm serves them: held pieces, the manifest
// (`manifest#0`) and the tokenizer (`tokenizer#0`). What sessions hear that concerns fetching
// goes to the swarm through `PeerHooks`.
import type { Clock } from '../util/clock.ts';
import type { PeerConnection } from '../transport/transport.ts';
import type { Frame } from '../wire/frame-types.ts';
import { PeerMisbehavedError } from './errors.ts';
import type { LocalPieces } from './local-pieces.ts';
import type { Origin } from './origin.ts';
import { MANIFEST_UNIT } from './piece-catalog.ts';
import { pieceKey, type PieceKey } from './piece-ref.ts';
import { PieceSession, type SessionHost } from './piece-session.ts';
import type { ProbeAnswer } from './range-probe.ts';
import { TOKENIZER_UNIT, TokenizerShare } from './tokenizer-exchange.ts';

export interface PeerHooks {
  now(): number;
  /** The accepted manifest's canonical bytes, once stored. */
  manifestBytes(): Uint8Array | undefined;
  /** The origin read of `key` in progress, if any: a request for it is answered once it lands. */
  landing(key: PieceKey): Promise<void> | undefined;
  /** A PIECE answering one of our requests (unverified). */
  piece(from: PieceSession, key: PieceKey, data: Uint8Array): void;
  /** A request of ours ended without data. */
  requestFailed(from: PieceSession, key: PieceKey): void;
  /** A session ended (it is no longer listed). */
  closed(session: PieceSession): void;
  /** A peer was dropped and banned. */
  dropped(err: PeerMisbehavedError): void;
  /** What peers offer changed: time to schedule. */
  changed(): void;
}

export class SwarmPeers implements SessionHost {
  readonly sessions = new Map<string, PieceSession>();
  private readonly banned = new Set<string>();
  /** The tokenizer file, served as the pseudo-piece `tokenizer#0` (tokenizer-exchange.ts). */
  readonly tokenizer: TokenizerShare;

  constructor(
    private readonly pieces: LocalPieces,
    localPackage: Origin | undefined,
    private readonly hooks: PeerHooks,
  ) {
    this.tokenizer = new TokenizerShare(localPackage);
  }

  /**
   * A session for `conn`, announced to; false when there is one already, or when `conn` closed
   * before the swarm heard of it (its `close` event is gone, so a session would stay listed for
   * good). A banned peer's connection is closed.
   */
  add(conn: PeerConnection): boolean {
    const id = conn.remotePeerId;
    if (this.banned.has(id)) {
      conn.close('banned');
      return false;
    }
    if (conn.closed || this.sessions.has(id)) return false;
    const s = new PieceSession(conn, this);
    this.sessions.set(id, s);
    this.announce(s);
    return true;
  }

  isBanned(id: string): boolean {
    return this.banned.has(id);
  }

  /** Ends `s` for good (misbehaviour) and bans its peer; `peer-dropped` hears of it. */
  drop(s: PieceSession, detail: string): void {
    const err = new PeerMisbehavedError(s.id, detail);
    this.banned.add(s.id);
    s.drop(err);
    this.hooks.dropped(err);
  }

  /** Bans `id` (caught misbehaving by another layer): its session, if any, is dropped. */
  ban(id: string, detail: string): void {
    const s = this.sessions.get(id);
    if (s !== undefined) return this.drop(s, detail);
    this.banned.add(id);
  }

  /** A ranged REQUEST to `peer` whose answer goes to the caller (range-probe.ts). */
  async probe(peer: string, unit: string, index: number, offset: number, length: number, timeoutMs: number, clock: Clock): Promise<ProbeAnswer> {
    const s = this.sessions.get(peer);
    if (s === undefined) return { kind: 'unreachable' };
    const p = s.probe(unit, index, offset, length);
    const timer = clock.setTimeout(() => p.end(), timeoutMs);
    try {
      return await p.answer;
    } finally {
      clock.clearTimeout(timer);
    }
  }

  broadcast(frame: Frame): void {
    for (const s of this.sessions.values()) s.send(frame);
  }

  closeAll(reason: string): void {
    for (const s of this.sessions.values()) s.conn.close(reason);
    this.sessions.clear();
  }

  /**
   * Announces what I hold to one peer. The manifest's BITFIELD goes out even when I lack it (bit
   * clear), so every session starts with at least one frame: the remote answers the first one it
   * hears by announcing again (`onRemoteListening`), for announcements its session missed.
   */
  announce(s: PieceSession): void {
    s.send({ type: 'BITFIELD', requestId: 0, unit: MANIFEST_UNIT, pieceCount: 1, bits: new Uint8Array([this.hooks.manifestBytes() ? 0x80 : 0]) });
    for (const { unit, count, bits } of this.pieces.heldBits()) {
      if (bits.some((b) => b !== 0)) s.send({ type: 'BITFIELD', requestId: 0, unit, pieceCount: count, bits });
    }
  }

  // ---- SessionHost ----
  now(): number {
    return this.hooks.now();
  }

  async readPiece(unit: string, index: number): Promise<Uint8Array | undefined> {
    if (unit === MANIFEST_UNIT) return this.hooks.manifestBytes();
    const catalog = this.pieces.catalog;
    if (unit === TOKENIZER_UNIT) return catalog && this.tokenizer.read(catalog.manifest.tokenizer);
    const key = pieceKey(unit, index);
    // A probe (a newcomer asking the piece's previous designee): answer once my origin read lands.
    const reading = catalog?.get(key) && this.hooks.landing(key);
    if (reading) await reading.catch(() => undefined);
    return this.pieces.read(key);
  }

  mayServe(unit: string, index: number): boolean {
    if (unit === MANIFEST_UNIT) return this.hooks.manifestBytes() !== undefined;
    if (unit === TOKENIZER_UNIT) return this.pieces.catalog !== undefined && this.tokenizer.available;
    const key = pieceKey(unit, index);
    return this.pieces.held.has(key) || this.hooks.landing(key) !== undefined;
  }

  unitPieces(unit: string): number | undefined {
    return unit === MANIFEST_UNIT || unit === TOKENIZER_UNIT ? 1 : this.pieces.catalog?.pieceCount(unit);
  }

  onMisbehaved(session: PieceSession, detail: string): void {
    this.drop(session, detail);
  }

  onOffer(): void {
    this.hooks.changed();
  }

  /**
   * The swarm may start listening on a connection after frames already went to its other users
   * (the transport hands early frames only to listeners of the turn the first one subscribes in:
   * a ring that opened the connection before the swarm was linked has them). A peer that completed
   * before the other joined sends no HAVE after its first BITFIELDs, so losing them left the joiner
   * blind to every piece that peer holds (a page with no origin then waited forever). The first
   * exchange frame heard from a session proves it listens: announce again, once per session.
   */
  onRemoteListening(session: PieceSession): void {
    this.announce(session);
  }

  onPiece(session: PieceSession, key: PieceKey, data: Uint8Array): void {
    this.hooks.piece(session, key, data);
  }

  onRequestFailed(session: PieceSession, key: PieceKey): void {
    this.hooks.requestFailed(session, key);
  }

  onServed(_s: PieceSession, bytes: number): void {
    this.pieces.countServed(bytes);
  }

  onClosed(session: PieceSession): void {
    if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
    this.hooks.closed(session);
  }
}
