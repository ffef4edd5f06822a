// The per-connection send queue (docs/wire-protocol.md): two lanes, ring before bulk, and bufferedAmount
// backpressure so a big transfer neither starves small frames nor overflows the channel.
import { frameChunks, joinMessage, messageBytes, type Lane, type Message } from '../wire/chunking.ts';
import { SendQueueFullError } from './errors.ts';

/** The part of an RTCDataChannel the queue drives (one per lane; both lanes may share one). */
export interface ChannelSink {
  readonly bufferedAmount: number;
  /** May throw (closed channel: a send after a remote close throws while readyState still says open). */
  send(message: Uint8Array): void;
  /** One message given as parts, written without joining them (a socket); absent: they are joined for `send`. */
  sendParts?(parts: readonly Uint8Array[]): void;
}

export interface SendQueueOptions {
  /** Bulk messages are written only while `bufferedAmount` is below this (bytes). */
  highWaterMark: number;
  /** Where the channel's `bufferedamountlow` threshold sits; writing resumes once it fires. */
  lowWaterMark: number;
  /** Ring messages bypass the high-water mark but never push `bufferedAmount` past this (Chromium throws at 16 MiB). */
  ringLimit: number;
  /** Largest message handed to the channel (≤ 64 KiB, docs/wire-protocol.md; > 262,144 throws in Chromium). */
  maxMessageBytes: number;
  /**
   * Bulk bytes allowed in flight: sent but not yet credited back by the receiver (CREDIT frames).
   * WebRTC cannot pause a receiver, so without this its unread backlog grows and ring frames queue
   * behind it; the window bounds that backlog. Infinity disables it.
   */
  windowBytes: number;
  /**
   * While ring traffic flows (a ring frame sent or received within `ringQuietMs`), bulk bytes in
   * flight are held to this instead of `windowBytes`, cut into messages of at most
   * `ringActiveMessageBytes`. Bytes in flight sit in front of every ring frame somewhere (SCTP
   * buffers, the UDP socket, the receiver's event queue are first in, first out), so a ring
   * frame's extra delay is about this window divided by the link's throughput
   * (bench/transport.ts measures it). Default 32 KiB / 16 KiB / 200 ms.
   */
  ringActiveWindowBytes?: number;
  ringActiveMessageBytes?: number;
  ringQuietMs?: number;
  /**
   * Frames that may wait here at once (default 65,536). Every frame a peer provokes (a PONG, a
   * REJECT) waits here while that peer does not read; past this the connection fails instead of
   * growing. Honest traffic waits on its sends (`enqueue` resolves as it is written) and stays far below.
   */
  maxQueuedFrames?: number;
}

/** See `SendQueueOptions.maxQueuedFrames`. */
export const DEFAULT_MAX_QUEUED_FRAMES = 65_536;

export const DEFAULT_SEND_QUEUE_OPTIONS: SendQueueOptions = {
  highWaterMark: 256 * 1024,
  lowWaterMark: 64 * 1024,
  ringLimit: 8 * 1024 * 1024,
  maxMessageBytes: 64 * 1024,
  windowBytes: 256 * 1024,
  ringActiveWindowBytes: 32 * 1024,
  ringActiveMessageBytes: 16 * 1024,
  ringQuietMs: 200,
};

interface Entry {
  chunks: Iterator<Message>;
  next: IteratorResult<Message>;
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Holds encoded frames per lane and writes their ≤ 64 KiB chunks to the channel: every ring chunk
 * before any bulk chunk, whole frames in order within a lane (the interleaving rule of
 * chunking.ts). `enqueue` resolves once the frame's last chunk is handed to the channel — callers
 * that await it get backpressure. Call `pump()` when the channel signals `bufferedamountlow`.
 */
export class SendQueue {
  private readonly lanes: Record<Lane, Entry[]> = { ring: [], bulk: [] };
  private queued = 0;
  private inFlight = 0;
  private pumping = false;
  private failure: unknown;
  private lastRingAt = Number.NEGATIVE_INFINITY;

  constructor(
    /** Where each lane's messages go: one channel for both, or a dedicated ring channel. */
    private readonly sinks: Readonly<Record<Lane, ChannelSink>>,
    private readonly opts: SendQueueOptions = DEFAULT_SEND_QUEUE_OPTIONS,
    /** Told when the channel throws on send; the owner closes the connection. */
    private readonly onSendError: (err: unknown) => void = () => {},
    /** Milliseconds, monotonic; injected by tests. */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Ring traffic on this connection (a ring frame queued here, or one received): for the next
   * `ringQuietMs` bulk data runs in the smaller ring-active window. CREDIT frames do not count.
   */
  noteRingActivity(): void {
    this.lastRingAt = this.now();
  }

  /** True while bulk data is throttled for ring traffic. */
  get ringActive(): boolean {
    return this.now() - this.lastRingAt < (this.opts.ringQuietMs ?? 0);
  }

  /** Bytes accepted but not yet handed to the channel. */
  get queuedBytes(): number {
    return this.queued;
  }

  /** True while frames wait for the channel to drain (`bufferedamountlow`). */
  get pending(): boolean {
    return this.lanes.ring.length + this.lanes.bulk.length > 0;
  }

  /**
   * Queues one encoded frame (one buffer, or `encodeFrameParts`' parts); a ring frame counts as ring
   * activity unless `control` (CREDIT).
   */
  enqueue(encodedFrame: Message, lane: Lane, control = false): Promise<void> {
    if (lane === 'ring' && !control) this.noteRingActivity();
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const waiting = this.lanes.ring.length + this.lanes.bulk.length;
    if (waiting >= (this.opts.maxQueuedFrames ?? DEFAULT_MAX_QUEUED_FRAMES)) {
      const err = new SendQueueFullError(waiting);
      this.fail(err);
      this.onSendError(err);
      return Promise.reject(err);
    }
    return new Promise<void>((resolve, reject) => {
      const bytes = messageBytes(encodedFrame);
      const chunks = frameChunks(encodedFrame, lane, lane === 'ring' ? this.opts.maxMessageBytes : this.bulkMessageBytes);
      this.lanes[lane].push({ chunks, next: chunks.next(), bytes, resolve, reject });
      this.queued += bytes;
      this.pump();
    });
  }

  /** Writes as much as the water marks allow. Safe to call any time (re-entrant calls are ignored). */
  pump(): void {
    if (this.pumping || this.failure !== undefined) return;
    this.pumping = true;
    try {
      for (;;) {
        const lane: Lane | undefined =
          this.lanes.ring.length > 0 && this.sinks.ring.bufferedAmount < this.opts.ringLimit
            ? 'ring'
            : // Bulk waits while ring frames are queued, unless they have a channel of their own.
              this.lanes.bulk.length > 0 &&
                (this.lanes.ring.length === 0 || this.sinks.ring !== this.sinks.bulk) &&
                this.sinks.bulk.bufferedAmount < this.opts.highWaterMark &&
                this.windowAllows()
              ? 'bulk'
              : undefined;
        if (lane === undefined) return;
        this.writeOne(lane);
      }
    } catch (err) {
      this.fail(err);
      this.onSendError(err);
    } finally {
      this.pumping = false;
    }
  }

  /** Bulk bytes sent and not yet credited. */
  get bytesInFlight(): number {
    return this.inFlight;
  }

  /** The receiver consumed `bytes` more bulk bytes (a CREDIT frame): open the window and write on. */
  grant(bytes: number): void {
    this.inFlight = Math.max(0, this.inFlight - bytes);
    this.pump();
  }

  /** Bulk message size, asked as each chunk is cut: smaller while ring traffic flows. */
  private readonly bulkMessageBytes = (): number =>
    this.ringActive ? Math.min(this.opts.maxMessageBytes, this.opts.ringActiveMessageBytes ?? Infinity) : this.opts.maxMessageBytes;

  private windowAllows(): boolean {
    const next = (this.lanes.bulk[0] as Entry).next.value as Message;
    const window = this.ringActive ? Math.min(this.opts.windowBytes, this.opts.ringActiveWindowBytes ?? Infinity) : this.opts.windowBytes;
    // One message always fits an empty window, so a window smaller than a message cannot stall
    // (the receiver credits every bulk message it processed: data-peer-connection.ts).
    return this.inFlight === 0 || this.inFlight + messageBytes(next) <= window;
  }

  private writeOne(lane: Lane): void {
    const entry = this.lanes[lane][0] as Entry;
    const msg = entry.next.value as Message;
    const sink = this.sinks[lane];
    if (msg instanceof Uint8Array) sink.send(msg);
    else if (sink.sendParts) sink.sendParts(msg);
    else sink.send(joinMessage(msg));
    if (lane === 'bulk') this.inFlight += messageBytes(msg);
    entry.next = entry.chunks.next();
    if (entry.next.done === true) {
      this.lanes[lane].shift();
      this.queued -= entry.bytes;
      entry.resolve();
    }
  }

  /** Rejects everything queued with `err`; later `enqueue` calls reject with it too. */
  fail(err: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    for (const lane of ['ring', 'bulk'] as const) {
      for (const e of this.lanes[lane].splice(0)) e.reject(err);
    }
    this.queued = 0;
  }
}
