import type { PeerId } from '../ids.ts';
import type { PeerInfo } from '../signaling/protocol.ts';
import { TypedEmitter } from '../util/typed-emitter.ts';
import type { SignalingClient } from '../signaling/signaling-client.ts';
import { DEFAULT_MAX_FRAME_BYTES } from '../wire/frame-codec.ts';
import type { DataPeer, DataPeerFactory } from './data-peer.ts';
import { DataPeerConnection } from './data-peer-connection.ts';
import { ConnectTimeoutError, NotJoinedError, PeerFailedError, TransportClosedError } from './errors.ts';
import { LateCandidates } from './late-candidates.ts';
import { DEFAULT_SEND_QUEUE_OPTIONS, type SendQueueOptions } from './send-queue.ts';
import { isOffer, signalEnvelopeSchema, type SignalEnvelope } from './signal-envelope.ts';
import type { ConnectOptions, PeerConnection, Transport, TransportEvents } from './transport.ts';

export interface PeerTransportOptions {
  /** Relays SDP/ICE; joined by the caller, who also closes it. */
  readonly signaling: Pick<SignalingClient, 'peerId' | 'sendSignal' | 'on'> & Partial<Pick<SignalingClient, 'members'>>;
  /** Makes one WebRTC peer (node-datachannel in Node, native in browsers). */
  readonly createPeer: DataPeerFactory;
  /**
   * For a side whose WebRTC stack can set its MTU: the MTU to use toward `remote` (its room entry,
   * when known), or undefined for the default. The offer carries it and such an answerer adopts
   * it, so both ends agree. Absent (browsers): always the default, and offered MTUs are ignored.
   */
  readonly linkMtu?: (remote: PeerInfo | undefined) => number | undefined;
  /**
   * For a side that can make direct (TCP) links: whether to offer one to `remote` (its room entry,
   * when known). The first attempt of a dial offers it; later attempts fall back to WebRTC, so a
   * remote that cannot be reached directly is still reached. Only a side with this option answers
   * a direct offer. Absent (browsers): WebRTC only.
   */
  readonly directLink?: (remote: PeerInfo | undefined) => boolean;
  /** Called once when the transport closes, for what `createPeer` holds (a listening socket). */
  readonly release?: () => void;
  /** Default overall `connect()` deadline, ms (30 000). */
  readonly connectTimeoutMs?: number;
  /** One attempt's deadline before it is torn down and retried, ms (10 000; DTLS retransmits take ~1 s). */
  readonly attemptTimeoutMs?: number;
  readonly sendQueue?: Partial<SendQueueOptions>;
  readonly maxFrameBytes?: number;
  /** Bytes of partially received frames one connection may hold (wire DEFAULT_MAX_REASSEMBLY_BYTES). */
  readonly maxReassemblyBytes?: number;
}

/** How long a dial waits for the remote's `peer-joined` before offering without knowing its kind. */
const MEMBER_WAIT_MS = 2_000;
/** Attempts of a dial that offer a direct link (when `directLink` says so); WebRTC after them. */
const DIRECT_ATTEMPTS = 1;

/** A connection being negotiated. */
interface Attempt {
  readonly remote: PeerId;
  readonly id: string;
  readonly initiator: boolean;
  readonly peer: DataPeer;
}

interface Waiter {
  resolve(conn: PeerConnection): void;
  reject(err: unknown): void;
}

/**
 * `Transport` over simple-peer-like peers, signalled through the SignalingClient. One connection
 * per remote peer. When both sides dial each other at once (glare), the side with the smaller peer
 * id keeps its offer and the other answers it.
 */
export class PeerTransport implements Transport {
  private readonly events = new TypedEmitter<TransportEvents>();
  private readonly open = new Map<PeerId, DataPeerConnection>();
  private readonly attempts = new Map<PeerId, Attempt>();
  private readonly waiters = new Map<PeerId, Set<Waiter>>();
  private readonly dialing = new Map<PeerId, Promise<PeerConnection>>();
  private readonly late = new LateCandidates();
  private readonly unsubscribe: () => void;
  private readonly sendQueue: SendQueueOptions;
  private closed = false;

  constructor(private readonly opts: PeerTransportOptions) {
    this.sendQueue = { ...DEFAULT_SEND_QUEUE_OPTIONS, ...opts.sendQueue };
    this.unsubscribe = opts.signaling.on('signal', ({ from, data }) => this.onSignal(from, data));
  }

  get localPeerId(): PeerId | undefined {
    return this.opts.signaling.peerId;
  }

  connection(remote: PeerId): PeerConnection | undefined {
    return this.open.get(remote);
  }

  connections(): PeerConnection[] {
    return [...this.open.values()];
  }

  on<K extends keyof TransportEvents>(event: K, listener: (payload: TransportEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  connect(remote: PeerId, options: ConnectOptions = {}): Promise<PeerConnection> {
    if (this.closed) return Promise.reject(new TransportClosedError());
    const existing = this.open.get(remote);
    if (existing) return Promise.resolve(existing);
    if (this.localPeerId === undefined) return Promise.reject(new NotJoinedError());
    let dial = this.dialing.get(remote);
    if (!dial) {
      dial = this.dial(remote, options).finally(() => this.dialing.delete(remote));
      this.dialing.set(remote, dial);
    }
    return dial;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    for (const a of this.attempts.values()) a.peer.destroy();
    this.attempts.clear();
    for (const c of this.open.values()) c.close('transport closed');
    this.open.clear();
    this.late.clear();
    for (const set of this.waiters.values()) for (const w of set) w.reject(new TransportClosedError());
    this.waiters.clear();
    this.events.removeAll();
    this.opts.release?.();
  }

  private async dial(remote: PeerId, options: ConnectOptions): Promise<PeerConnection> {
    const total = options.timeoutMs ?? this.opts.connectTimeoutMs ?? 30_000;
    const perAttempt = this.opts.attemptTimeoutMs ?? 10_000;
    const deadline = performance.now() + total;
    let attempts = 0;
    let lastError: unknown;
    // Bounded by the deadline and by a small attempt count (a loopback connect sometimes needs a second try).
    while (attempts < 8) {
      if (this.closed) throw new TransportClosedError();
      options.signal?.throwIfAborted();
      const open = this.open.get(remote);
      if (open) return open;
      const left = deadline - performance.now();
      if (left <= 0) break;
      attempts++;
      // An attempt the remote started (we answer it) counts as ours: just wait for it.
      if (!this.attempts.has(remote)) {
        const info = await this.memberInfo(remote, deadline);
        if (this.closed) throw new TransportClosedError();
        // The remote may have dialled us (or a connection opened) while we waited.
        const opened = this.open.get(remote);
        if (opened) return opened;
        const mtu = this.opts.linkMtu?.(info);
        const link = attempts <= DIRECT_ATTEMPTS && this.opts.directLink?.(info) === true ? 'tcp' : undefined;
        if (!this.attempts.has(remote)) this.startAttempt(remote, crypto.randomUUID(), true, { mtu, link });
      }
      try {
        return await this.waitOpen(remote, Math.max(1, Math.min(perAttempt, deadline - performance.now())), options.signal);
      } catch (err) {
        if (this.closed || options.signal?.aborted) throw err;
        lastError = err;
        const stale = this.attempts.get(remote);
        if (stale) this.dropAttempt(stale);
        // A fast failure (ICE/DTLS error) must not spin: back off a little before the next offer.
        const pause = Math.min(250 * attempts, deadline - performance.now());
        if (pause > 0) await new Promise<void>((r) => setTimeout(r, pause));
      }
    }
    throw new ConnectTimeoutError(remote, total, attempts, { cause: lastError });
  }

  /**
   * `remote`'s room entry, which decides the MTU (`linkMtu`) and the kind of link (`directLink`) to
   * offer. A peer id can reach us (from a plan, from a caller) a moment before its `peer-joined`
   * does, so wait for that, briefly.
   */
  private async memberInfo(remote: PeerId, deadline: number): Promise<PeerInfo | undefined> {
    const members = this.opts.signaling.members;
    if ((this.opts.linkMtu === undefined && this.opts.directLink === undefined) || members === undefined) return undefined;
    if (!members.has(remote)) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.max(0, Math.min(MEMBER_WAIT_MS, deadline - performance.now())));
        const off = this.opts.signaling.on('peer-joined', (m) => {
          if (m.peers.some((p) => p.peerId === remote)) done();
        });
        function done(): void {
          clearTimeout(timer);
          off();
          resolve();
        }
      });
    }
    return members.get(remote);
  }

  private waitOpen(remote: PeerId, ms: number, signal: AbortSignal | undefined): Promise<PeerConnection> {
    return new Promise<PeerConnection>((resolve, reject) => {
      let set = this.waiters.get(remote);
      if (!set) this.waiters.set(remote, (set = new Set()));
      const onAbort = (): void => settle(() => reject(signal?.reason));
      const timer = setTimeout(() => settle(() => reject(new ConnectTimeoutError(remote, ms, 1))), ms);
      const waiter: Waiter = { resolve: (c) => settle(() => resolve(c)), reject: (e) => settle(() => reject(e)) };
      const settle = (fn: () => void): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        set.delete(waiter);
        fn();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      set.add(waiter);
    });
  }

  private startAttempt(remote: PeerId, id: string, initiator: boolean, kind: { mtu?: number | undefined; link?: 'tcp' | undefined }): Attempt {
    const { mtu, link } = kind;
    const peer = this.opts.createPeer({ initiator, ...(link !== undefined ? { link } : mtu !== undefined ? { mtu } : {}) });
    const attempt: Attempt = { remote, id, initiator, peer };
    this.attempts.set(remote, attempt);
    peer.on('signal', (signal) => {
      if (this.attempts.get(remote) !== attempt && !this.late.mayForward(remote, id, signal)) return;
      const offerTerms = !initiator ? {} : link !== undefined ? { link } : mtu !== undefined ? { mtu } : {};
      const envelope: SignalEnvelope = { rm: 1, attempt: id, ...offerTerms, signal: signal as SignalEnvelope['signal'] };
      try {
        this.opts.signaling.sendSignal(remote, envelope);
      } catch {
        // Signaling is down (reconnecting): this attempt cannot complete; its timeout retries it.
      }
    });
    peer.on('connect', () => this.onConnected(attempt));
    const fail = (err?: unknown): void => {
      if (this.attempts.get(remote) !== attempt) return;
      this.dropAttempt(attempt);
      for (const w of [...(this.waiters.get(remote) ?? [])]) w.reject(new PeerFailedError(remote, { cause: err }));
    };
    peer.on('error', (err) => fail(err));
    peer.on('close', () => fail());
    return attempt;
  }

  private dropAttempt(attempt: Attempt): void {
    if (this.attempts.get(attempt.remote) === attempt) this.attempts.delete(attempt.remote);
    attempt.peer.destroy();
  }

  private onConnected(attempt: Attempt): void {
    if (this.attempts.get(attempt.remote) !== attempt || this.closed) {
      attempt.peer.destroy();
      return;
    }
    this.attempts.delete(attempt.remote);
    const conn = new DataPeerConnection(attempt.remote, attempt.peer, {
      sendQueue: this.sendQueue,
      maxFrameBytes: this.opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      ...(this.opts.maxReassemblyBytes === undefined ? {} : { maxReassemblyBytes: this.opts.maxReassemblyBytes }),
    });
    this.open.get(attempt.remote)?.close('replaced by a new connection');
    this.open.set(attempt.remote, conn);
    const forget = this.late.opened(attempt.remote, attempt.id, attempt.peer);
    conn.on('close', () => {
      forget();
      if (this.open.get(attempt.remote) === conn) this.open.delete(attempt.remote);
    });
    this.events.emit('open', conn);
    for (const w of [...(this.waiters.get(attempt.remote) ?? [])]) w.resolve(conn);
    if (!attempt.initiator) this.events.emit('connection', conn);
  }

  private onSignal(from: PeerId, data: unknown): void {
    if (this.closed) return;
    const parsed = signalEnvelopeSchema.safeParse(data);
    if (!parsed.success) return; // not ours (another layer may use signals too)
    const env = parsed.data;
    const current = this.attempts.get(from);
    if (current && current.id === env.attempt) {
      current.peer.signal(env.signal);
      return;
    }
    if (this.late.deliver(from, env)) return;
    if (!isOffer(env)) return; // a candidate of an attempt that is gone
    if (current?.initiator) {
      // Glare: both sides dialled. The smaller id keeps its own offer; the other answers.
      const local = this.localPeerId;
      if (local !== undefined && local < from) return;
    }
    // A direct offer is answered only by a side that makes direct links; anyone else lets it time
    // out, and the dialer's next attempt is WebRTC.
    if (env.link === 'tcp' && this.opts.directLink === undefined) return;
    if (current) this.dropAttempt(current);
    // Only a side that sets MTUs itself adopts the offered one (see `linkMtu`).
    const mtu = this.opts.linkMtu !== undefined ? env.mtu : undefined;
    this.startAttempt(from, env.attempt, false, { mtu, link: env.link }).peer.signal(env.signal);
  }
}
