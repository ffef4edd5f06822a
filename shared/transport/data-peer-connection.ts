import type { PeerId } from '../ids.ts';
import { TypedEmitter } from '../util/typed-emitter.ts';
import { FrameAssembler, messageBytes, messageLane, type Message } from '../wire/chunking.ts';
import { encodeFrameParts } from '../wire/frame-codec.ts';
import { FrameTooLargeError, WireError } from '../wire/errors.ts';
import type { Frame } from '../wire/frame-types.ts';
import type { DataLane, DataPeer } from './data-peer.ts';
import { EarlyFrames } from './early-frames.ts';
import { ConnectionClosedError, FrameHandlerError, PeerFailedError, ProtocolViolationError, SendFailedError, type TransportError } from './errors.ts';
import { PingTracker } from './ping-tracker.ts';
import { SendQueue, type ChannelSink, type SendQueueOptions } from './send-queue.ts';
import type { ConnectionStats, FrameDropReason, LinkKind, PeerConnection, PeerConnectionEvents, Priority } from './transport.ts';

export interface DataPeerConnectionOptions {
  readonly sendQueue: SendQueueOptions;
  readonly maxFrameBytes: number;
  /** Bytes of partially received frames held at once (default: wire DEFAULT_MAX_REASSEMBLY_BYTES). */
  readonly maxReassemblyBytes?: number;
}

/**
 * Runs `fn` once the messages that arrived together have all been handled. In Node,
 * node-datachannel delivers a burst of messages as separate callbacks with microtasks drained
 * between them, so a microtask would send one CREDIT per message; each send is a synchronous trip
 * through usrsctp and DTLS (profiled: the receiver spent 17% of its CPU sending CREDITs), and
 * `setImmediate` runs after the whole burst. Browsers have no setImmediate: a microtask there.
 */
const setImmediateIfAny = (globalThis as { setImmediate?: (fn: () => void) => unknown }).setImmediate;
const afterBurst: (fn: () => void) => void = setImmediateIfAny !== undefined ? (fn) => void setImmediateIfAny(fn) : (fn) => queueMicrotask(fn);

/**
 * A `PeerConnection` over one connected `DataPeer`: frames are encoded, queued by priority, split
 * into ≤ 64 KiB messages, reassembled on arrival and validated. PING is answered here; PING/PONG
 * never reach `frame` listeners. Any malformed input closes the connection (docs/security.md).
 */
export class DataPeerConnection implements PeerConnection {
  private readonly events = new TypedEmitter<PeerConnectionEvents>();
  private readonly queue: SendQueue;
  private readonly assembler: FrameAssembler;
  private readonly pings: PingTracker;
  private counters = { bytesSent: 0, bytesReceived: 0, framesSent: 0, framesReceived: 0 };
  private closeReason: string | undefined;
  /** Bulk bytes received and processed but not yet credited back to the sender. */
  private uncredited = 0;
  private creditScheduled = false;
  /** Frames that arrived before the first `frame` listener (early-frames.ts). */
  private readonly early = new EarlyFrames();
  private readonly drops: Partial<Record<FrameDropReason, number>> = {};
  /**
   * Messages the DataPeer handed over while this was being built (it replays what arrived before
   * anyone listened, synchronously, on the first `data` listener), and any that follow them until
   * they are handled a microtask later. Handled at once, a malformed one closed the connection
   * before its owner could subscribe to `close`: the link ended unseen, no layer banned the peer,
   * and the transport kept the dead connection listed.
   */
  private replay: Uint8Array[] | undefined = [];

  readonly link: LinkKind;

  constructor(
    readonly remotePeerId: PeerId,
    private readonly peer: DataPeer,
    private readonly opts: DataPeerConnectionOptions,
  ) {
    this.link = peer.link ?? 'webrtc';
    this.pings = new PingTracker(remotePeerId);
    this.assembler = new FrameAssembler({
      maxFrameBytes: opts.maxFrameBytes,
      ...(opts.maxReassemblyBytes === undefined ? {} : { maxReassemblyBytes: opts.maxReassemblyBytes }),
    });
    const { ring, bulk } = peer.lanes;
    const counted = (lane: DataLane): ChannelSink => {
      const sendParts = lane.sendParts?.bind(lane);
      return {
        get bufferedAmount() {
          return lane.bufferedAmount;
        },
        send: (m: Uint8Array) => {
          lane.send(m);
          this.counters.bytesSent += m.byteLength;
        },
        ...(sendParts === undefined
          ? {}
          : {
              sendParts: (parts: readonly Uint8Array[]) => {
                sendParts(parts);
                this.counters.bytesSent += messageBytes(parts);
              },
            }),
      };
    };
    const bulkSink = counted(bulk);
    const sinks = { bulk: bulkSink, ring: ring === bulk ? bulkSink : counted(ring) };
    const queueOptions: SendQueueOptions = { ...opts.sendQueue, ...peer.sendQueue };
    this.queue = new SendQueue(sinks, queueOptions, (err) => this.shutdown('send failed', new SendFailedError(remotePeerId, { cause: err })));
    bulk.onBufferedAmountLow(queueOptions.lowWaterMark, () => this.queue.pump());
    if (ring !== bulk) ring.onBufferedAmountLow(queueOptions.lowWaterMark, () => this.queue.pump());
    peer.on('data', (m) => (this.replay ? this.replay.push(m) : this.receive(m)));
    if (this.replay?.length) queueMicrotask(() => this.replayEarly());
    else this.replay = undefined;
    peer.on('close', () => this.shutdown('closed by remote', new ConnectionClosedError(remotePeerId, 'closed by remote')));
    // In the browser a remote close surfaces as an `error` event, not `close`.
    peer.on('error', (err) => this.shutdown('peer error', new PeerFailedError(remotePeerId, { cause: err })));
  }

  get closed(): boolean {
    return this.closeReason !== undefined;
  }

  send(frame: Frame, priority: Priority = 'ring'): Promise<void> {
    return this.sendFrame(frame, priority, isExchangeControl(frame));
  }

  private sendFrame(frame: Frame, priority: Priority, control: boolean): Promise<void> {
    if (this.closeReason !== undefined) return Promise.reject(new ConnectionClosedError(this.remotePeerId, this.closeReason));
    let encoded: Message;
    try {
      // A PIECE's data is not copied into the frame: a channel that writes parts sends it as is.
      encoded = encodeFrameParts(frame, this.opts.maxFrameBytes);
    } catch (err) {
      return Promise.reject(err);
    }
    this.counters.framesSent++;
    return this.queue.enqueue(encoded, priority, control);
  }

  ping(timeoutMs = 10_000): Promise<number> {
    return this.pings.ping((frame) => this.send(frame, 'ring'), timeoutMs);
  }

  /**
   * Listeners run guarded: one that throws on a frame closes this connection (FrameHandlerError,
   * counted as `handler-error`) instead of unwinding into the channel's callback, where it would be
   * an uncaught exception that ends the process; one that throws on `close` is counted.
   */
  on<K extends keyof PeerConnectionEvents>(event: K, listener: (payload: PeerConnectionEvents[K]) => void): () => void {
    const guarded = (payload: PeerConnectionEvents[K]): void => {
      if (event === 'frame' && this.closeReason !== undefined) return; // closed by an earlier listener
      try {
        listener(payload);
      } catch (err) {
        this.handlerThrew(err);
      }
    };
    const off = this.events.on(event, guarded);
    if (event === 'frame') this.early.scheduleRelease((held) => this.releaseEarly(held));
    return off;
  }

  private releaseEarly(held: readonly Frame[]): void {
    if (this.closeReason !== undefined) return; // closed meanwhile: nobody expects frames after 'close'
    for (const f of held) this.events.emit('frame', f);
  }

  private handlerThrew(err: unknown): void {
    this.count('handler-error');
    this.shutdown('a frame handler threw', new FrameHandlerError(this.remotePeerId, { cause: err }));
  }

  private count(reason: FrameDropReason): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
  }

  relayed(): Promise<boolean | undefined> {
    if (this.link === 'tcp') return Promise.resolve(false);
    return this.peer.relayed?.() ?? Promise.resolve(undefined);
  }

  stats(): ConnectionStats {
    return {
      ...this.counters,
      queuedBytes: this.queue.queuedBytes,
      bufferedAmount: this.closed
        ? 0
        : this.peer.lanes.bulk.bufferedAmount + (this.peer.lanes.ring === this.peer.lanes.bulk ? 0 : this.peer.lanes.ring.bufferedAmount),
      rttMs: this.pings.srtt,
      minRttMs: this.pings.minRtt,
      dropped: { ...this.drops },
    };
  }

  close(reason = 'closed locally'): void {
    this.shutdown(reason, undefined);
  }

  private replayEarly(): void {
    const held = this.replay ?? [];
    this.replay = undefined;
    for (const m of held) this.receive(m);
  }

  /** The channel's `data` callback: nothing thrown while handling a message may leave it. */
  private receive(message: Uint8Array): void {
    if (this.closeReason !== undefined) return;
    try {
      this.handle(message);
    } catch (err) {
      // Not a wire error (those close the link in `handle`): a bug met by a peer's bytes. This link ends, not the process.
      this.handlerThrew(err);
    }
  }

  private handle(message: Uint8Array): void {
    this.counters.bytesReceived += message.byteLength;
    let frame: Frame | undefined;
    try {
      frame = this.assembler.push(message);
    } catch (err) {
      // Edge of the peer session: a malformed frame from this peer ends the connection, not the process.
      if (!(err instanceof WireError)) throw err;
      this.count(err instanceof FrameTooLargeError ? 'oversized' : 'malformed');
      this.shutdown('protocol violation', new ProtocolViolationError(this.remotePeerId, { cause: err }));
      return;
    }
    const lane = messageLane(message);
    if (lane === 'bulk') this.credit(message.byteLength);
    if (frame === undefined) return;
    this.counters.framesReceived++;
    if (lane === 'ring' && frame.type !== 'CREDIT' && !isExchangeControl(frame)) this.queue.noteRingActivity();
    if (frame.type === 'PING') {
      this.send({ type: 'PONG', requestId: frame.requestId, pingSentAt: frame.sentAt, sentAt: performance.now() }, 'ring').catch(() => {
        // The connection closed meanwhile; its close event already tells the owner.
      });
      return;
    }
    if (frame.type === 'CREDIT') {
      this.queue.grant(frame.bytes);
      return;
    }
    if (frame.type === 'PONG') return this.pings.pong(frame);
    if (this.early.holding) {
      // Bounded until a listener is there; once one is, everything goes to it a macrotask later.
      if (!this.early.hold(frame, this.assembler.lastFrameBytes)) this.count('unlistened');
      return;
    }
    this.events.emit('frame', frame);
  }

  /**
   * Grants the sender the bytes of every bulk message processed here. Credits of messages that
   * arrive in one burst are batched into one CREDIT (`afterBurst`). The frame listeners
   * ran synchronously before this, so a credit means "processed", not just "arrived". Crediting
   * every message (not every quarter window) is what lets the sender shrink its window to one
   * small message while ring traffic flows without ever waiting on bytes the receiver holds back.
   */
  private credit(bytes: number): void {
    this.uncredited += bytes;
    if (this.creditScheduled) return;
    this.creditScheduled = true;
    afterBurst(() => this.flushCredit());
  }

  private flushCredit(): void {
    this.creditScheduled = false;
    if (this.uncredited === 0 || this.closeReason !== undefined) return;
    const grant = this.uncredited;
    this.uncredited = 0;
    this.sendFrame({ type: 'CREDIT', requestId: 0, bytes: grant }, 'ring', true).catch(() => {
      // The connection closed meanwhile; its close event already tells the owner.
    });
  }

  private shutdown(reason: string, error: TransportError | undefined): void {
    if (this.closeReason !== undefined) return;
    this.closeReason = reason;
    const closedError = error ?? new ConnectionClosedError(this.remotePeerId, reason);
    this.queue.fail(closedError);
    this.pings.failAll(closedError);
    this.peer.destroy();
    this.events.emit('close', error ? { reason, error } : { reason });
    this.events.removeAll();
  }
}

/**
 * Piece-exchange control frames (BITFIELD, HAVE, REQUEST, REJECT, CANCEL: a few bytes each) ride
 * the ring lane so they never wait behind piece data, but they are not ring traffic: like CREDIT,
 * they must not shrink the bulk window, or a swarm's steady HAVE/REQUEST chatter would hold every
 * piece transfer to the ring-active window.
 */
function isExchangeControl(frame: Frame): boolean {
  return frame.type === 'BITFIELD' || frame.type === 'HAVE' || frame.type === 'REQUEST' || frame.type === 'REJECT' || frame.type === 'CANCEL';
}
