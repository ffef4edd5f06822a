import type { ModelManifest, UnitName } from '../model/manifest.ts';
import type { Clock } from '../util/clock.ts';
import { TypedEmitter } from '../util/typed-emitter.ts';
import type { PeerConnection } from '../transport/transport.ts';
import { encodeBits } from './bitfield.ts';
import { isBadPiece, isOriginError, PeerMisbehavedError } from './errors.ts';
import { manifestFromFile, type ManifestPiece } from './manifest-bytes.ts';
import type { OriginCandidate } from './origin-assignment.ts';
import { describeOriginRead } from './origin-trace.ts';
import type { Origin } from './origin.ts';
import { MANIFEST_KEY, MANIFEST_UNIT, PieceCatalog } from './piece-catalog.ts';
import { pieceName, type PieceRef } from './piece-ref.ts';
import { PieceSession, type SessionHost } from './piece-session.ts';
import type { ProbeAnswer } from './range-probe.ts';
import type { ModelStore } from './piece-store.ts';
import type { SwarmProgress } from './progress.ts';
import { swarmProgress } from './swarm-progress.ts';
import { TOKENIZER_UNIT, TokenizerShare } from './tokenizer-exchange.ts';
import { DEFAULT_LIMITS, ORIGIN, selectPieces, trackWaiting, type SchedulerLimits } from './scheduler.ts';

export interface PieceSwarmOptions {
  readonly modelId: string;
  /** Verified store (`withVerification`): what it returns has been re-hashed. */
  readonly store: ModelStore;
  /** Remote origin (HTTP, shared directory): used only as the scheduler allows. */
  readonly origin?: Origin;
  /** This peer's own copy of the package: imported first, no coordination needed. */
  readonly localPackage?: Origin;
  /** Units of this peer's partition (tier 0); 'all' for every unit. */
  readonly units: (manifest: ModelManifest) => readonly UnitName[] | 'all';
  /** Also fetch and keep every other unit (tier 1), as a seeding server does. */
  readonly replicaFull: boolean;
  /** This peer's id (known once signaling welcomed it). */
  readonly self: () => string;
  readonly clock: Clock;
  readonly rng: () => number;
  readonly limits?: Partial<SchedulerLimits>;
  readonly requestTimeoutMs?: number;
  /** A peer with requests pending that sent nothing for this long is not counted on (and pinged). */
  readonly peerStallMs?: number;
  /** How long a peer without a manifest waits for one from peers before asking the origin. */
  readonly manifestGraceMs?: number;
  readonly tickMs?: number;
  /**
   * Bytes of recently stored pieces kept in memory to serve without a store read and re-hash
   * (streaming relay: what peers ask for is mostly what just arrived). Default 64 MiB; 0 disables.
   */
  readonly serveCacheBytes?: number;
  /** Told why each origin read starts (the view it was decided on): for diagnosing duplicate reads. */
  readonly trace?: (line: string) => void;
}

export interface PieceSwarmEvents {
  progress: SwarmProgress;
  ready: ModelManifest;
  'peer-dropped': PeerMisbehavedError;
  /** An origin read failed after its retries; the piece is tried again after a pause. */
  'origin-failed': Error;
  /** Fatal: the store cannot write (disk full, no permission); `ready` rejects too. */
  error: Error;
}

/**
 * Ties scheduler, store, origin and peer sessions together for one model (docs/pieces.md): loads the
 * manifest (store, then peers, then origin), verifies what the store holds, then keeps asking the
 * scheduler for requests until every wanted piece is verified and stored, and serves every held
 * piece to any connected peer the whole time (streaming relay). Each received piece is hashed
 * before it is stored or announced; a peer that sends a bad one is dropped and banned.
 */
export class PieceSwarm extends TypedEmitter<PieceSwarmEvents> implements SessionHost {
  private readonly sessions = new Map<string, PieceSession>();
  private readonly banned = new Set<string>();
  /** Room members: when I first saw each, and when it joined (-Infinity: before me). */
  private readonly members = new Map<string, { seenAt: number; joinedAt: number }>();
  /** The room as signaling last reported it. */
  private inRoom: ReadonlySet<string> | undefined;
  private readonly held = new Set<string>();
  private readonly storing = new Set<string>();
  private readonly originInFlight = new Set<string>();
  /** Origin reads in progress, until stored: a probe for one of them waits for it (`readPiece`). */
  private readonly landing = new Map<string, Promise<void>>();
  /** Probes sent (key → the member asked) and, per key, the members that refused (see `decideOrigin`). */
  private readonly probes = new Map<string, string>();
  private readonly released = new Map<string, Set<string>>();
  /** Verified bytes of recently stored pieces, oldest first (see `serveCacheBytes`). */
  private readonly recent = new Map<string, Uint8Array>();
  private recentBytes = 0;
  private readonly limits: SchedulerLimits;
  private waiting = new Map<string, number>();
  private catalog: PieceCatalog | undefined;
  private manifestPiece: ManifestPiece | undefined;
  private wanted: { ref: PieceRef; tier: number }[] = [];
  private counters = { fromPackage: 0, fromPeers: 0, fromOrigin: 0, served: 0 };
  /** Pieces found verified in the store when the manifest was accepted (key → length): progress counts them as cache. */
  private cached = new Map<string, number>();
  /** The tokenizer file, served as the pseudo-piece `tokenizer#0` (tokenizer-exchange.ts). */
  private readonly tokenizer: TokenizerShare;
  private startedAt = 0;
  private manifestFetch: 'idle' | 'peer' | 'origin' = 'idle';
  private originPausedUntil = 0;
  private accepting = false;
  private timer: unknown;
  private tickQueued = false;
  private closed = false;
  private finished = false;
  /** Units asked for by `fetchUnits`, waiting until all their pieces are held. */
  private wants: { units: ReadonlySet<string>; resolve: () => void; reject: (e: Error) => void }[] = [];
  readonly ready: Promise<ModelManifest>;
  private resolveReady!: (m: ModelManifest) => void;
  private rejectReady!: (e: Error) => void;

  constructor(private readonly opts: PieceSwarmOptions) {
    super();
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.tokenizer = new TokenizerShare(opts.localPackage);
    this.ready = new Promise((res, rej) => {
      this.resolveReady = res;
      this.rejectReady = rej;
    });
    this.ready.catch(() => undefined); // callers that never await must not see an unhandled rejection
  }

  get manifest(): ModelManifest | undefined {
    return this.catalog?.manifest;
  }

  async start(): Promise<void> {
    this.startedAt = this.now();
    const cached = await this.opts.store.get(this.opts.modelId);
    if (cached) await this.acceptManifest(cached, undefined);
    else if (this.opts.localPackage) await this.acceptManifest(await this.opts.localPackage.read('manifest.json'), undefined);
    this.schedule();
  }

  /** Adds an open connection to a room member; a banned peer's is closed at once. */
  addConnection(conn: PeerConnection): void {
    const id = conn.remotePeerId;
    if (this.banned.has(id)) return conn.close('banned');
    if (this.closed || this.sessions.has(id)) return;
    const s = new PieceSession(conn, this);
    this.sessions.set(id, s);
    if (!this.members.has(id)) this.members.set(id, { seenAt: this.now(), joinedAt: this.now() });
    this.sendBitfields(s);
    this.schedule();
  }

  /**
   * The room as signaling reports it (ids other than mine): pending members are origin candidates.
   * `beforeMe`: these were in the room when I joined (the welcome), so they may already be fetching.
   */
  setMembers(ids: readonly string[], beforeMe = false): void {
    const keep = new Set(ids);
    this.inRoom = keep;
    for (const id of [...this.members.keys()]) if (!keep.has(id) && !this.sessions.has(id)) this.members.delete(id);
    const now = this.now();
    for (const id of ids) if (!this.members.has(id)) this.members.set(id, { seenAt: now, joinedAt: beforeMe ? Number.NEGATIVE_INFINITY : now });
    this.schedule();
  }

  /**
   * Adds `units` to this peer's own partition (tier 0: a re-plan gave it other layers) and resolves
   * with each unit's verified bytes once all their pieces are held (fetched like any wanted piece).
   */
  async fetchUnits(units: readonly UnitName[]): Promise<Map<UnitName, Uint8Array>> {
    await new Promise<void>((resolve, reject) => {
      if (this.closed) return reject(new Error('swarm closed'));
      this.wants.push({ units: new Set(units), resolve, reject });
      this.schedule();
    });
    const out = new Map<UnitName, Uint8Array>();
    for (const unit of units) out.set(unit, await this.readUnit(unit));
    return out;
  }

  /** A whole unit's verified bytes from the store (its pieces concatenated). */
  private async readUnit(unit: UnitName): Promise<Uint8Array> {
    const refs = (this.catalog?.all ?? []).filter((r) => r.unit === unit);
    const size = refs.reduce((n, r) => n + r.length, 0);
    const out = new Uint8Array(size);
    let at = 0;
    for (const ref of refs) {
      const data = await this.opts.store.get(ref.hash);
      if (!data || data.byteLength !== ref.length) throw new Error(`piece ${pieceName(ref)} left the store before its unit was read`);
      out.set(data, at);
      at += data.byteLength;
    }
    return out;
  }

  /** Puts asked-for units into `wanted` (tier 0) and resolves the asks whose pieces are all held. */
  private applyWants(catalog: PieceCatalog): void {
    if (this.wants.length === 0) return;
    const byKey = new Map(this.wanted.map((w, i) => [pieceName(w.ref), i]));
    const before = this.wanted.length;
    for (const w of this.wants) {
      for (const ref of catalog.all) {
        if (!w.units.has(ref.unit)) continue;
        const i = byKey.get(pieceName(ref));
        if (i === undefined) {
          byKey.set(pieceName(ref), this.wanted.length);
          this.wanted.push({ ref, tier: 0 });
        } else if ((this.wanted[i] as { tier: number }).tier !== 0) {
          this.wanted[i] = { ref, tier: 0 };
        }
      }
    }
    if (this.wanted.length > before) {
      this.emit('progress', this.progress()); // units already held count at once (nothing arrives to report them)
      // A seed's own package never goes through the scheduler: import the added units directly.
      if (this.opts.localPackage) void this.importLocal().catch((err: unknown) => this.fail(err));
    }
    const done = this.wants.filter((w) => catalog.all.every((r) => !w.units.has(r.unit) || this.held.has(pieceName(r))));
    this.wants = this.wants.filter((w) => !done.includes(w));
    for (const w of done) w.resolve();
  }

  /**
   * Asks connected peer `peer` for `length` bytes at `offset` of piece `unit#index` and hands the
   * answer back unverified (a proof-of-holding challenge, docs/ring.md): `unreachable` without a
   * connection, `timeout` after `timeoutMs`.
   */
  async probePeer(peer: string, unit: string, index: number, offset: number, length: number, timeoutMs: number): Promise<ProbeAnswer> {
    const s = this.sessions.get(peer);
    if (s === undefined || this.closed) return { kind: 'unreachable' };
    const p = s.probe(unit, index, offset, length);
    const timer = this.opts.clock.setTimeout(() => p.end(), timeoutMs);
    try {
      return await p.answer;
    } finally {
      this.opts.clock.clearTimeout(timer);
    }
  }

  progress(): SwarmProgress {
    return swarmProgress({
      modelId: this.opts.modelId,
      wanted: this.wanted,
      held: this.held,
      cached: this.cached,
      ...this.counters,
      peers: this.sessions.size,
    });
  }

  /** Ids of the peers with an open session (whom `probePeer` can ask). */
  connectedPeers(): string[] {
    return [...this.sessions.keys()];
  }

  /** Tokenizer bytes already checked against the manifest: from now on served to peers that ask. */
  holdTokenizer(bytes: Uint8Array): void {
    this.tokenizer.hold(bytes);
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.opts.clock.clearTimeout(this.timer);
    for (const s of this.sessions.values()) s.conn.close('swarm closed');
    this.sessions.clear();
    this.recent.clear();
    this.recentBytes = 0;
    if (!this.finished) this.rejectReady(new Error('swarm closed before the model was complete'));
    for (const w of this.wants) w.reject(new Error('swarm closed before the units were complete'));
    this.wants = [];
  }

  // ---- SessionHost ----
  now(): number {
    return this.opts.clock.now();
  }

  async readPiece(unit: string, index: number): Promise<Uint8Array | undefined> {
    if (unit === MANIFEST_UNIT) return this.manifestPiece?.bytes;
    if (unit === TOKENIZER_UNIT) return this.catalog && this.tokenizer.read(this.catalog.manifest.tokenizer);
    const ref = this.catalog?.get(`${unit}#${index}`);
    // A probe (a newcomer asking the piece's previous designee): answer once my origin read lands.
    const reading = ref && this.landing.get(pieceName(ref));
    if (reading) await reading.catch(() => undefined);
    if (!ref || !this.held.has(pieceName(ref))) return undefined;
    const hot = this.recent.get(pieceName(ref));
    if (hot) return hot; // verified when it was stored, in this process: no need to read and hash again
    const data = await this.opts.store.get(ref.hash);
    if (!data) for (const set of [this.held, this.cached]) set.delete(pieceName(ref)); // found corrupt and evicted by the store
    return data;
  }

  mayServe(unit: string, index: number): boolean {
    if (unit === MANIFEST_UNIT) return this.manifestPiece !== undefined;
    if (unit === TOKENIZER_UNIT) return this.catalog !== undefined && this.tokenizer.available;
    const key = `${unit}#${index}`;
    return this.held.has(key) || this.landing.has(key);
  }

  /**
   * Stops exchanging pieces with `id` for good (another layer — the ring — caught it misbehaving):
   * its session ends, its connection closes, and it is neither dialed nor accepted again.
   */
  ban(id: string, detail: string): void {
    const s = this.sessions.get(id);
    if (s !== undefined) return this.dropPeer(s, detail);
    this.banned.add(id);
  }

  /** Whether `id` was dropped for bad data (room links stop dialing it). */
  isBanned(id: string): boolean {
    return this.banned.has(id);
  }

  unitPieces(unit: string): number | undefined {
    return unit === MANIFEST_UNIT || unit === TOKENIZER_UNIT ? 1 : this.catalog?.pieceCount(unit);
  }

  onMisbehaved(session: PieceSession, detail: string): void {
    this.dropPeer(session, detail);
  }

  onOffer(): void {
    this.schedule();
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
    this.sendBitfields(session);
  }

  onPiece(session: PieceSession, key: string, data: Uint8Array): void {
    void this.receive(key, data, session).catch((err: unknown) => this.fail(err));
  }

  onRequestFailed(session: PieceSession, key: string): void {
    // A probed member that is not reading the piece (REJECT, or gone): one fewer to ask.
    if (this.probes.get(key) === session.id) {
      this.probes.delete(key);
      const refused = this.released.get(key) ?? new Set<string>();
      refused.add(session.id);
      this.released.set(key, refused);
    }
    this.schedule();
  }

  onServed(_s: PieceSession, bytes: number): void {
    this.counters.served += bytes;
  }

  onClosed(session: PieceSession): void {
    if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
    // Gone from the room too (a killed peer): no longer an origin candidate anyone waits on.
    if (this.inRoom && !this.inRoom.has(session.id)) this.members.delete(session.id);
    if (this.manifestFetch === 'peer') this.manifestFetch = 'idle';
    this.schedule();
  }

  // ---- internals ----
  private async acceptManifest(fileBytes: Uint8Array, from: PieceSession | undefined): Promise<void> {
    if (this.catalog || this.accepting) return;
    const m = await manifestFromFile(this.opts.modelId, fileBytes); // throws on a wrong manifest: the caller drops its sender
    if (this.catalog || this.accepting) return;
    this.accepting = true;
    await this.opts.store.put(this.opts.modelId, m.bytes);
    this.manifestPiece = m;
    const catalog = new PieceCatalog(m.manifest);
    const mine = new Set(catalog.select(this.opts.units(m.manifest)).map(pieceName));
    const wanted = catalog.all.map((ref) => ({ ref, tier: mine.has(pieceName(ref)) ? 0 : 1 })).filter((w) => w.tier === 0 || this.opts.replicaFull);
    // Verify on load: a corrupt cached copy is deleted by the store and fetched again.
    for (const ref of catalog.all) {
      if ((await this.opts.store.has(ref.hash)) && (await this.opts.store.verify(ref.hash))) this.held.add(pieceName(ref));
    }
    this.cached = new Map(catalog.all.filter((r) => this.held.has(pieceName(r))).map((r) => [pieceName(r), r.length]));
    this.catalog = catalog;
    this.wanted = wanted;
    void from;
    for (const s of this.sessions.values()) this.sendBitfields(s);
    this.emit('progress', this.progress());
    if (this.opts.localPackage) void this.importLocal().catch((err: unknown) => this.fail(err));
    this.schedule();
  }

  /** A seed's own package: every wanted piece read, verified and stored, announced as it lands. */
  private async importLocal(): Promise<void> {
    for (const { ref } of this.wanted) {
      if (this.closed) return;
      const key = pieceName(ref);
      if (this.held.has(key) || this.storing.has(key)) continue;
      const data = await this.opts.localPackage!.read(ref.file, { offset: ref.offset, length: ref.length });
      await this.storeVerified(key, ref, data, 'cache');
    }
  }

  /**
   * Announces what I hold to one peer. The manifest's BITFIELD goes out even when I lack it (bit
   * clear), so every session starts with at least one frame: the remote answers the first one it
   * hears by announcing again (`onRemoteListening`), for announcements its session missed.
   */
  private sendBitfields(s: PieceSession): void {
    s.send({ type: 'BITFIELD', requestId: 0, unit: MANIFEST_UNIT, pieceCount: 1, bits: new Uint8Array([this.manifestPiece ? 0x80 : 0]) });
    if (!this.catalog) return;
    for (const u of this.catalog.manifest.units) {
      const bits = encodeBits(u.pieces.length, (i) => this.held.has(`${u.name}#${i}`));
      if (bits.some((b) => b !== 0)) s.send({ type: 'BITFIELD', requestId: 0, unit: u.name, pieceCount: u.pieces.length, bits });
    }
  }

  private async receive(key: string, data: Uint8Array, from: PieceSession): Promise<void> {
    if (key === MANIFEST_KEY) {
      this.manifestFetch = 'idle';
      await this.acceptManifest(data, from).catch((err: unknown) => this.dropPeer(from, `bad manifest: ${String(err)}`));
      return;
    }
    const ref = this.catalog?.get(key);
    if (!ref) return;
    try {
      await this.storeVerified(key, ref, data, 'peer');
    } catch (err) {
      // The verifying store hashed the bytes once and refused them: this peer sent a bad piece.
      if (!isBadPiece(err)) throw err;
      this.dropPeer(from, `sent ${key} with a bad sha256 or length (expected ${ref.hash.slice(0, 12)}…, ${ref.length} bytes)`);
    }
  }

  private dropPeer(s: PieceSession, detail: string): void {
    const err = new PeerMisbehavedError(s.id, detail);
    this.banned.add(s.id);
    s.drop(err);
    this.emit('peer-dropped', err);
    this.schedule();
  }

  /**
   * Stores `data` as `ref` and announces it. The store is a verifying one (`withVerification`): its
   * put hashes the bytes, once, and throws PieceHashMismatchError/PieceLengthError on a mismatch,
   * so nothing unverified is stored, announced or served.
   */
  private async storeVerified(key: string, ref: PieceRef, data: Uint8Array, source: 'peer' | 'origin' | 'cache'): Promise<void> {
    if (this.held.has(key) || this.storing.has(key)) return;
    this.storing.add(key);
    try {
      await this.opts.store.put(ref.hash, data); // the verifying store re-checks; a mismatch throws
    } finally {
      this.storing.delete(key);
    }
    this.held.add(key);
    this.probes.delete(key);
    this.remember(key, data);
    if (source === 'peer') this.counters.fromPeers += data.byteLength;
    else if (source === 'origin') this.counters.fromOrigin += data.byteLength;
    else this.counters.fromPackage += data.byteLength;
    for (const s of this.sessions.values()) s.send({ type: 'HAVE', requestId: 0, unit: ref.unit, piece: ref.index });
    this.emit('progress', this.progress());
    this.schedule();
  }

  private fetchFromOrigin(ref: PieceRef): Promise<void> {
    const key = pieceName(ref);
    const read = this.readFromOrigin(ref, key);
    this.landing.set(key, read);
    return read.finally(() => this.landing.delete(key));
  }

  private async readFromOrigin(ref: PieceRef, key: string): Promise<void> {
    this.originInFlight.add(key);
    try {
      const data = await this.opts.origin!.read(ref.file, { offset: ref.offset, length: ref.length });
      await this.storeVerified(key, ref, data, 'origin');
    } catch (err) {
      // A failing origin, or one whose bytes the store refused: pause it and try again later.
      if (!isBadPiece(err) && !isOriginError(err)) throw err;
      this.originPausedUntil = this.now() + 2000; // let a struggling origin breathe
      this.emit('origin-failed', err as Error);
    } finally {
      this.originInFlight.delete(key);
      this.schedule();
    }
  }

  /** Keeps a just-verified piece in memory for serving, evicting the oldest beyond `serveCacheBytes`. */
  private remember(key: string, data: Uint8Array): void {
    const budget = this.opts.serveCacheBytes ?? 64 * 1024 * 1024;
    if (data.byteLength > budget) return;
    this.recent.set(key, data);
    this.recentBytes += data.byteLength;
    for (const [k, d] of this.recent) {
      if (this.recentBytes <= budget) break;
      this.recent.delete(k);
      this.recentBytes -= d.byteLength;
    }
  }

  private schedule(): void {
    if (this.tickQueued || this.closed) return;
    this.tickQueued = true;
    queueMicrotask(() => {
      this.tickQueued = false;
      this.tick();
    });
  }

  private tick(): void {
    if (this.closed) return;
    if (this.timer !== undefined) this.opts.clock.clearTimeout(this.timer);
    this.timer = this.opts.clock.setTimeout(() => this.tick(), this.opts.tickMs ?? 250);
    for (const s of this.sessions.values()) s.expire(this.opts.requestTimeoutMs ?? 30_000);
    if (!this.catalog) return this.tickManifest();
    this.applyWants(this.catalog);
    const left = this.wanted.filter((w) => !this.held.has(pieceName(w.ref)));
    if (left.length === 0 && this.storing.size === 0) return this.finish();
    // A stalled peer that also left the signaling room (a killed process) is gone: close it now
    // rather than after its PING times out, so nobody waits on it as an origin designee.
    for (const s of [...this.sessions.values()]) {
      if (this.inRoom && !this.inRoom.has(s.id) && s.stalled(this.opts.peerStallMs ?? 4000)) s.conn.close('left the room');
    }
    // A stalled peer's pieces and requests are not counted on: they go elsewhere meanwhile.
    const sessions = [...this.sessions.values()];
    // For the origin stall rule, a designee that still talks (HAVE, REQUEST, PIECE, PONG) is slow,
    // not stuck: it will get to its origin pieces. Only silence (a dead process) hands them over.
    const alive = (s: PieceSession): number => Math.max(s.lastProgressAt, s.lastHeard);
    const live = sessions.filter((s) => !s.stalled(this.opts.peerStallMs ?? 4000));
    const peers = live.map((s) => ({
      id: s.id,
      has: s.has,
      throughput: s.throughput,
      wants: () => true,
      connected: true,
      seenAt: s.connectedAt,
      joinedAt: this.members.get(s.id)?.joinedAt ?? s.connectedAt,
      lastProgressAt: alive(s),
    }));
    const pendingMembers: OriginCandidate[] = [...this.members]
      .filter(([id]) => !this.sessions.has(id) && !this.banned.has(id))
      .map(([id, m]) => ({ id, wants: () => true, connected: false, seenAt: m.seenAt, joinedAt: m.joinedAt, lastProgressAt: m.seenAt }));
    // A stalled peer is not asked for pieces, but it stays an origin candidate: every peer must see
    // the same candidates to agree on designees, and the stall rule (no HAVE for stallMs) already
    // moves its pieces to the origin if it really is stuck.
    for (const s of sessions) {
      if (live.includes(s)) continue;
      pendingMembers.push({
        id: s.id,
        wants: () => true,
        connected: true,
        seenAt: s.connectedAt,
        joinedAt: this.members.get(s.id)?.joinedAt ?? s.connectedAt,
        lastProgressAt: alive(s),
      });
    }
    const inFlight = [
      ...live.flatMap((s) => s.inFlight().map((key) => ({ key, source: s.id }))),
      ...[...this.originInFlight].map((key) => ({ key, source: ORIGIN })),
      ...[...this.storing].map((key) => ({ key, source: 'store' })),
    ];
    const base = {
      self: this.opts.self(),
      selfSince: this.startedAt,
      now: this.now(),
      wanted: left.map((w) => ({ key: pieceName(w.ref), tier: w.tier, length: w.ref.length })),
      peers,
      pendingMembers,
      inFlight,
      limits: this.limits,
      released: this.released,
      hasOrigin: this.opts.origin !== undefined && !this.opts.localPackage && this.now() >= this.originPausedUntil,
    };
    this.waiting = trackWaiting({ ...base, waitingSince: this.waiting });
    for (const a of selectPieces({ ...base, waitingSince: this.waiting }, this.opts.rng)) {
      const ref = this.catalog.get(a.key);
      if (!ref) continue;
      if (a.kind === 'cancel') this.sessions.get(a.source)?.cancel(a.key);
      else if (a.source === ORIGIN) {
        const members = [...peers, ...pendingMembers];
        this.opts.trace?.(
          describeOriginRead({
            key: a.key,
            self: base.self,
            startedAt: this.startedAt,
            now: base.now,
            waitingSince: this.waiting.get(a.key),
            refusedBy: this.released.get(a.key) ?? [],
            members,
          }),
        );
        void this.fetchFromOrigin(ref).catch((err: unknown) => this.fail(err));
      } else {
        const s = this.sessions.get(a.source);
        if (s && !s.has.has(a.key)) this.probes.set(a.key, s.id); // it did not announce the piece: a probe
        s?.request(ref.unit, ref.index, ref.length);
      }
    }
  }

  private tickManifest(): void {
    if (this.manifestFetch !== 'idle') return;
    const holder = [...this.sessions.values()].find((s) => s.has.has(MANIFEST_KEY));
    if (holder) {
      this.manifestFetch = 'peer';
      holder.request(MANIFEST_UNIT, 0, 0xffffffff);
      return;
    }
    const grace = this.members.size > 0 ? (this.opts.manifestGraceMs ?? 1000) : 0; // alone: nobody to wait for
    if (this.opts.origin && this.now() >= this.originPausedUntil && this.now() - this.startedAt >= grace) {
      this.manifestFetch = 'origin';
      void this.opts.origin
        .read('manifest.json')
        .then((bytes) => this.acceptManifest(bytes, undefined))
        .catch((err: unknown) => {
          this.originPausedUntil = this.now() + 2000;
          this.emit('origin-failed', err as Error);
        })
        .finally(() => {
          this.manifestFetch = 'idle';
          this.schedule();
        });
    }
  }

  private finish(): void {
    if (this.finished || !this.catalog) return;
    this.finished = true;
    void this.complete(this.catalog).catch((err: unknown) => this.fail(err));
  }

  /** The model record is written before `ready`: a page closed right after still finds it cached. */
  private async complete(catalog: PieceCatalog): Promise<void> {
    const all = catalog.all;
    if (all.every((r) => this.held.has(pieceName(r)))) {
      const rec = { modelId: this.opts.modelId, pieces: all.map((r) => r.hash), bytes: all.reduce((n, r) => n + r.length, 0), lastUsed: this.now() };
      await this.opts.store.putModel(rec);
    }
    this.emit('progress', this.progress());
    this.emit('ready', catalog.manifest);
    this.resolveReady(catalog.manifest);
  }

  private fail(err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err));
    this.emit('error', e);
    this.rejectReady(e);
  }
}
