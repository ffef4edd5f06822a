import type { ModelManifest, UnitName } from '../model/manifest.ts';
import { TypedEmitter } from '../util/typed-emitter.ts';
import type { PeerConnection } from '../transport/transport.ts';
import { SwarmClosedError, SwarmInternalError } from './errors.ts';
import { LocalPieces } from './local-pieces.ts';
import { ManifestSource } from './manifest-source.ts';
import { OriginCoordination } from './origin-coordination.ts';
import { MANIFEST_KEY, PieceCatalog } from './piece-catalog.ts';
import { keyOf, type PieceKey } from './piece-ref.ts';
import type { PieceSession } from './piece-session.ts';
import type { ProbeAnswer } from './range-probe.ts';
import type { SwarmProgress } from './progress.ts';
import { PieceIntake } from './piece-intake.ts';
import { requestStep } from './request-plan.ts';
import { DEFAULT_SERVE_CACHE_BYTES } from './serve-cache.ts';
import type { PieceSwarmEvents, PieceSwarmOptions } from './swarm-options.ts';
import { SwarmPeers } from './swarm-peers.ts';
import { DEFAULT_LIMITS, type SchedulerLimits } from './scheduler.ts';
import { UnitWants, wantUnits, type WantedRef } from './unit-wants.ts';

export type { PieceSwarmEvents, PieceSwarmOptions } from './swarm-options.ts';

/**
 * Ties scheduler, store, origin and peer sessions together for one model (docs/pieces.md): loads the
 * manifest (manifest-source.ts), verifies what the store holds, then keeps asking the scheduler for
 * requests until every wanted piece is verified and stored, and serves every held piece to any
 * connected peer the whole time (streaming relay, from serve-cache.ts when recent). Each received
 * piece is hashed before it is stored or announced; a peer that sends a bad one is dropped and
 * banned. Who reads the origin is origin-coordination.ts's state; units asked for, unit-wants.ts.
 */
export class PieceSwarm extends TypedEmitter<PieceSwarmEvents> {
  private readonly peers: SwarmPeers;
  private readonly origin = new OriginCoordination();
  private readonly manifestSource: ManifestSource;
  private readonly pieces: LocalPieces;
  private readonly intake: PieceIntake;
  private readonly limits: SchedulerLimits;
  private wanted: WantedRef[] = [];
  private startedAt = 0;
  private timer: unknown;
  private tickQueued = false;
  private closed = false;
  private finished = false;
  private readonly wants = new UnitWants();
  readonly ready: Promise<ModelManifest>;
  private resolveReady!: (m: ModelManifest) => void;
  private rejectReady!: (e: Error) => void;

  constructor(private readonly opts: PieceSwarmOptions) {
    super();
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.pieces = new LocalPieces(opts.store, opts.serveCacheBytes ?? DEFAULT_SERVE_CACHE_BYTES, { now: () => this.now() });
    this.peers = new SwarmPeers(this.pieces, opts.localPackage, {
      now: () => this.now(),
      manifestBytes: () => this.manifestSource.bytes,
      landing: (key) => this.origin.landing(key),
      piece: (from, key, data) => void this.receive(key, data, from).catch((err: unknown) => this.fail(err)),
      // A probed member that is not reading the piece (REJECT, or gone): one fewer to ask.
      requestFailed: (from, key) => {
        // A manifest request refused (busy) or expired: the next tick asks again, instead of
        // waiting on that peer for as long as its link stays open.
        if (key === MANIFEST_KEY) this.manifestSource.peerGone();
        this.origin.refused(key, from.id);
        this.schedule();
      },
      closed: (session) => {
        this.origin.disconnected(session.id);
        this.manifestSource.peerGone();
        this.schedule();
      },
      dropped: (err) => {
        this.emit('peer-dropped', err);
        this.schedule();
      },
      changed: () => this.schedule(),
    });
    const originFailed = (err: Error): void => {
      this.origin.pause(this.now());
      this.emit('origin-failed', err);
    };
    this.manifestSource = new ManifestSource(opts.modelId, opts.store, {
      accept: (bytes) => this.acceptManifest(bytes),
      originFailed,
      settled: () => this.schedule(),
    });
    this.intake = new PieceIntake(this.pieces, this.peers, this.origin, opts, {
      stored: () => {
        this.emit('progress', this.progress());
        this.schedule();
      },
      originFailed,
      originSettled: () => this.schedule(),
    });
    this.ready = new Promise((res, rej) => {
      this.resolveReady = res;
      this.rejectReady = rej;
    });
    this.ready.catch(() => undefined); // callers that never await must not see an unhandled rejection
  }

  get manifest(): ModelManifest | undefined {
    return this.pieces.catalog?.manifest;
  }

  async start(): Promise<void> {
    this.startedAt = this.now();
    const cached = await this.opts.store.get(this.opts.modelId);
    if (cached) await this.acceptManifest(cached);
    else if (this.opts.localPackage) await this.acceptManifest(await this.opts.localPackage.read('manifest.json'));
    this.schedule();
  }

  /** Adds an open connection to a room member; a banned peer's is closed at once. */
  addConnection(conn: PeerConnection): void {
    if (this.closed && !this.peers.isBanned(conn.remotePeerId)) return; // a banned peer's is closed even then
    if (!this.peers.add(conn)) return;
    this.origin.connected(conn.remotePeerId, this.now());
    this.schedule();
  }

  /**
   * The room as signaling reports it (ids other than mine): pending members are origin candidates.
   * `beforeMe`: these were in the room when I joined (the welcome), so they may already be fetching.
   */
  setMembers(ids: readonly string[], beforeMe = false): void {
    this.origin.setRoom(ids, beforeMe, this.now(), (id) => this.peers.sessions.has(id));
    this.schedule();
  }

  /**
   * Adds `units` to this peer's own partition (tier 0: a re-plan gave it other layers) and resolves
   * with each unit's verified bytes once all their pieces are held (fetched like any wanted piece).
   */
  async fetchUnits(units: readonly UnitName[]): Promise<Map<UnitName, Uint8Array>> {
    if (this.closed) throw new SwarmClosedError();
    const asked = this.wants.add(units);
    this.schedule();
    await asked;
    const out = new Map<UnitName, Uint8Array>();
    for (const unit of units) out.set(unit, await this.pieces.readUnit(unit));
    return out;
  }

  /** Puts asked-for units into `wanted` (tier 0) and resolves the asks whose pieces are all held. */
  private applyWants(catalog: PieceCatalog): void {
    if (this.wants.size === 0) return;
    if (wantUnits(this.wanted, catalog.all, this.wants.units()) > 0) {
      this.emit('progress', this.progress()); // units already held count at once (nothing arrives to report them)
      // A seed's own package never goes through the scheduler: import the added units directly.
      if (this.opts.localPackage) void this.intake.importLocal(this.wanted).catch((err: unknown) => this.fail(err));
    }
    this.wants.settle(catalog.all, this.pieces.held);
  }

  /**
   * Asks connected peer `peer` for `length` bytes at `offset` of piece `unit#index` and hands the
   * answer back unverified (a proof-of-holding challenge, docs/ring.md): `unreachable` without a
   * connection, `timeout` after `timeoutMs`.
   */
  async probePeer(peer: string, unit: string, index: number, offset: number, length: number, timeoutMs: number): Promise<ProbeAnswer> {
    if (this.closed) return { kind: 'unreachable' };
    return this.peers.probe(peer, unit, index, offset, length, timeoutMs, this.opts.clock);
  }

  progress(): SwarmProgress {
    return this.pieces.progress(this.opts.modelId, this.wanted, this.peers.sessions.size);
  }

  /** Smoothed bytes/s of the pieces `peer` sent us; undefined before any (or with no session). */
  peerThroughput(peer: string): number | undefined {
    return this.peers.sessions.get(peer)?.throughput;
  }

  /** Ids of the peers with an open session (whom `probePeer` can ask). */
  connectedPeers(): string[] {
    return [...this.peers.sessions.keys()];
  }

  /** Tokenizer bytes already checked against the manifest: from now on served to peers that ask. */
  holdTokenizer(bytes: Uint8Array): void {
    this.peers.tokenizer.hold(bytes);
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.opts.clock.clearTimeout(this.timer);
    this.peers.closeAll('swarm closed');
    this.pieces.close();
    this.intake.close();
    if (!this.finished) this.rejectReady(new SwarmClosedError('model'));
    this.wants.rejectAll(new SwarmClosedError('units'));
  }

  now(): number {
    return this.opts.clock.now();
  }

  /** Verified bytes of a held piece (or the manifest, the tokenizer), as served to peers. */
  readPiece(unit: string, index: number): Promise<Uint8Array | undefined> {
    return this.peers.readPiece(unit, index);
  }

  /** Whether a request for the piece would be served (held, or its origin read in progress). */
  mayServe(unit: string, index: number): boolean {
    return this.peers.mayServe(unit, index);
  }

  /**
   * Stops exchanging pieces with `id` for good (another layer — the ring — caught it misbehaving):
   * its session ends, its connection closes, and it is neither dialed nor accepted again.
   */
  ban(id: string, detail: string): void {
    this.peers.ban(id, detail);
  }

  /** Whether `id` was dropped for bad data (room links stop dialing it). */
  isBanned(id: string): boolean {
    return this.peers.isBanned(id);
  }

  // ---- internals ----
  private async acceptManifest(fileBytes: Uint8Array): Promise<void> {
    const m = await this.manifestSource.accept(fileBytes); // throws on a wrong manifest: the caller drops its sender
    if (!m) return;
    const catalog = new PieceCatalog(m.manifest);
    const mine = new Set(catalog.select(this.opts.units(m.manifest)).map(keyOf));
    // Set before the catalog is (at the end of `load`): a tick that sees the catalog must see these.
    this.wanted = catalog.all.map((ref) => ({ ref, tier: mine.has(keyOf(ref)) ? 0 : 1 })).filter((w) => w.tier === 0 || this.opts.replicaFull);
    await this.pieces.load(catalog);
    for (const s of this.peers.sessions.values()) this.peers.announce(s);
    this.emit('progress', this.progress());
    if (this.opts.localPackage) void this.intake.importLocal(this.wanted).catch((err: unknown) => this.fail(err));
    this.schedule();
  }

  private async receive(key: PieceKey, data: Uint8Array, from: PieceSession): Promise<void> {
    if (key === MANIFEST_KEY) {
      this.manifestSource.received();
      await this.acceptManifest(data).catch((err: unknown) => this.peers.drop(from, `bad manifest: ${String(err)}`));
      return;
    }
    await this.intake.fromPeer(key, data, from);
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
    for (const s of this.peers.sessions.values()) s.expire(this.opts.requestTimeoutMs ?? 30_000);
    this.pieces.expireServeCache(this.now());
    const catalog = this.pieces.catalog;
    if (!catalog) return this.tickManifest();
    this.applyWants(catalog);
    const left = this.wanted.filter((w) => !this.pieces.held.has(keyOf(w.ref)));
    if (left.length === 0 && this.pieces.storing.size === 0) return this.finish();
    const now = this.now();
    requestStep({
      ...{ self: this.opts.self(), startedAt: this.startedAt, now, left, catalog, sessions: this.peers.sessions, storing: this.pieces.storing },
      ...{ isBanned: (id) => this.peers.isBanned(id), origin: this.origin, limits: this.limits, stallMs: this.opts.peerStallMs ?? 4000, rng: this.opts.rng },
      hasOrigin: this.opts.origin !== undefined && !this.opts.localPackage && this.origin.open(now),
      fromOrigin: (ref) => void this.intake.fromOrigin(ref).catch((err: unknown) => this.fail(err)),
      trace: this.opts.trace,
    });
  }

  private tickManifest(): void {
    if (this.manifestSource.busy) return;
    const holder = [...this.peers.sessions.values()].find((s) => s.has.has(MANIFEST_KEY));
    const grace = this.origin.memberCount > 0 ? (this.opts.manifestGraceMs ?? 1000) : 0; // alone: nobody to wait for
    const originReady = this.origin.open(this.now()) && this.now() - this.startedAt >= grace;
    this.manifestSource.fetch(holder, originReady ? this.opts.origin : undefined);
  }

  private finish(): void {
    const catalog = this.pieces.catalog;
    if (this.finished || !catalog) return;
    this.finished = true;
    void this.complete(catalog).catch((err: unknown) => this.fail(err));
  }

  /** The model record is written before `ready`: a page closed right after still finds it cached. */
  private async complete(catalog: PieceCatalog): Promise<void> {
    await this.pieces.recordIfComplete(this.opts.modelId, this.now());
    this.emit('progress', this.progress());
    this.emit('ready', catalog.manifest);
    this.resolveReady(catalog.manifest);
  }

  private fail(err: unknown): void {
    const e = err instanceof Error ? err : new SwarmInternalError(err);
    this.emit('error', e);
    this.rejectReady(e);
  }
}
