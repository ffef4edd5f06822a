// Carries ring messages over the transport: encodes them as frames (ring-frames.ts) on the ring
// lane, keeps them in order per peer while a connection is still being opened, decodes what
// arrives and hands it to `deliver`. Messages to this peer itself never touch the network.
import type { PeerId, SessionId } from '../ids.ts';
import type { PeerConnection, Transport } from '../transport/transport.ts';
import type { RingMessage } from './messages.ts';
import { isRingMessage, ringMessageFrames, RingFrameDecoder } from './ring-frames.ts';

export interface RingLinkOptions {
  readonly transport: Transport;
  readonly self: () => PeerId | undefined;
  /** Element type of hidden states sent by this peer. */
  readonly dtype: 'fp32' | 'fp16';
  /**
   * Hands over one message with the peer it came from (this peer for local sends). Returns whether
   * it was accepted: only accepted openings are remembered for later TOKEN frames.
   */
  readonly deliver: (message: RingMessage, from: PeerId) => boolean;
  /** A connection closed or a send to `peer` failed: sessions through it are lost. */
  readonly onPeerLost: (peer: PeerId, reason: string) => void;
  readonly onDrop?: (reason: string, detail: string) => void;
  readonly connectTimeoutMs?: number;
  /** Sees every activation and token sent to or received from another peer, with the time (bench). */
  readonly trace?: (e: HopTrace) => void;
}

/** One activation or token leaving or reaching this peer; `at` is `performance.timeOrigin + now()`. */
export interface HopTrace {
  readonly dir: 'send' | 'recv';
  readonly kind: 'activation' | 'token';
  readonly peer: PeerId;
  readonly session: SessionId;
  readonly step: number;
  readonly at: number;
}

/** Milliseconds on a clock shared by the processes of one machine (for cross-process hop times). */
function wallNow(): number {
  const origin = (performance as { timeOrigin?: number }).timeOrigin;
  return origin === undefined ? Date.now() : origin + performance.now();
}

/** Sessions whose epoch is remembered for TOKEN frames; the oldest are forgotten first. */
const MAX_KNOWN_SESSIONS = 20_000;

export class RingLink {
  private readonly linked = new WeakSet<PeerConnection>();
  /** Per peer: the chain of sends waiting for its connection to open. */
  private readonly opening = new Map<PeerId, Promise<PeerConnection | undefined>>();
  private readonly epochs = new Map<SessionId, number>();
  private last: { to: PeerId; message: RingMessage } | null = null;
  private readonly stops: (() => void)[] = [];
  private closed = false;
  /** Members whose frames are ignored and whose connection is closed (ring protocol violations). */
  private readonly banned = new Set<PeerId>();

  constructor(private readonly opts: RingLinkOptions) {
    this.stops.push(opts.transport.on('open', (c) => this.link(c)));
    for (const c of opts.transport.connections()) this.link(c);
  }

  /** Sends (or delivers locally) one message; never throws: failures surface as a lost peer. */
  send(to: PeerId, message: RingMessage): void {
    if (this.closed) return;
    // The last stage sends the same TOKEN to the requester and to stage 0; when both are one peer,
    // one frame is enough (the receiver hands a token to both its roles).
    if (message.type === 'token' && this.last?.message === message && this.last.to === to) return;
    this.last = { to, message };
    this.remember(message);
    if (to === this.opts.self()) {
      queueMicrotask(() => this.opts.deliver(message, to));
      return;
    }
    if (this.opts.trace && (message.type === 'activation' || message.type === 'token')) {
      this.opts.trace({ dir: 'send', kind: message.type, peer: to, session: message.session, step: message.step, at: wallNow() });
    }
    const frames = ringMessageFrames(message, this.opts.dtype);
    const write = (conn: PeerConnection): void => {
      for (const f of frames) conn.send(f, 'ring').catch((err: unknown) => this.lost(to, `send failed: ${String(err)}`));
    };
    const pending = this.opening.get(to);
    const open = this.opts.transport.connection(to);
    if (pending === undefined && open !== undefined && !open.closed) {
      this.link(open);
      write(open);
      return;
    }
    const base =
      pending ??
      this.opts.transport.connect(to, { timeoutMs: this.opts.connectTimeoutMs ?? 20_000 }).then(
        (c) => {
          this.link(c);
          return c;
        },
        (err: unknown) => {
          this.lost(to, `no connection: ${String(err)}`);
          return undefined;
        },
      );
    const next = base.then((c) => {
      if (c !== undefined && !c.closed) write(c);
      return c;
    });
    this.opening.set(to, next);
    void next.then(() => {
      if (this.opening.get(to) === next) this.opening.delete(to);
    });
  }

  /** Stops talking to `peer` for good: its connection is closed and its frames are ignored. */
  ban(peer: PeerId, reason: string): void {
    this.banned.add(peer);
    this.opts.transport.connection(peer)?.close(reason);
  }

  isBanned(peer: PeerId): boolean {
    return this.banned.has(peer);
  }

  close(): void {
    this.closed = true;
    for (const s of this.stops) s();
  }

  private link(conn: PeerConnection): void {
    if (this.linked.has(conn)) return;
    this.linked.add(conn);
    const peer = conn.remotePeerId;
    // Decoder state (a SESSION_INIT waiting for its ACTIVATION) is per connection: one member's
    // frames can never complete or replace another's.
    const decoder = new RingFrameDecoder((s) => this.epochs.get(s) ?? -1);
    const offFrame = conn.on('frame', (f) => {
      if (this.closed || this.banned.has(peer)) return;
      const r = decoder.decode(f);
      if (r === null) return;
      if (!isRingMessage(r)) {
        this.opts.onDrop?.(r.reason, `from ${peer}: ${r.detail}`);
        return;
      }
      if (this.opts.trace && (r.type === 'activation' || r.type === 'token'))
        this.opts.trace({ dir: 'recv', kind: r.type, peer, session: r.session, step: r.step, at: wallNow() });
      if (this.opts.deliver(r, peer)) this.remember(r);
    });
    const offClose = conn.on('close', (e) => {
      offFrame();
      offClose();
      this.lost(peer, `connection closed: ${e.reason}`);
    });
  }

  private lost(peer: PeerId, reason: string): void {
    if (!this.closed) this.opts.onPeerLost(peer, reason);
  }

  /** Epochs of sessions seen opening (prefill, first activation), for TOKEN frames. */
  private remember(m: RingMessage): void {
    if (m.type === 'prefill' || (m.type === 'activation' && m.init !== undefined)) {
      if (this.epochs.size >= MAX_KNOWN_SESSIONS) this.epochs.delete(this.epochs.keys().next().value as SessionId);
      this.epochs.set(m.session, m.epoch);
    } else if (m.type === 'end') {
      this.epochs.delete(m.session);
    }
  }
}
