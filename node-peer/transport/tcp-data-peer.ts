import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { z } from 'zod';
import type { DataLane, DataPeer } from '../../shared/transport/data-peer.ts';
import { ChannelNotOpenError } from '../../shared/transport/errors.ts';
import type { SendQueueOptions } from '../../shared/transport/send-queue.ts';
import { DirectLinkSignalError } from './direct-link-errors.ts';
import { DirectLinkHostError } from './direct-link-host.ts';
import { LengthPrefixDecoder, lengthPrefix } from './length-prefix.ts';
import { LINK_TOKEN_BYTES, type TcpLinkListener } from './tcp-link-listener.ts';

/**
 * Send-queue settings of a direct link. A socket has no per-message limit and copies nothing per
 * message, so a 4 MiB piece (the default piece size) goes as one message instead of 64 chunks —
 * chunking and reassembly were a third of a swarm peer's CPU. The window keeps two such pieces in
 * flight (TCP's own flow control does not bound what the receiver has read but not handled).
 * While ring frames flow the queue still holds bulk to its small ring-active window and messages,
 * so an activation waits behind at most that much.
 */
const DIRECT_SEND_QUEUE: Partial<SendQueueOptions> = {
  maxMessageBytes: 4 * 1024 * 1024 + 1024,
  windowBytes: 8 * 1024 * 1024,
  highWaterMark: 4 * 1024 * 1024,
  lowWaterMark: 1024 * 1024,
};
/** Largest message a direct link accepts: anything beyond the send queue's is not a ringmesh peer talking. */
const MAX_MESSAGE_BYTES = (DIRECT_SEND_QUEUE.maxMessageBytes as number) + 64 * 1024;
/** Dead-peer detection for a link whose remote vanished without closing (a machine gone). */
const KEEPALIVE_MS = 10_000;

/** The signals of a direct link, relayed through signaling inside the transport's envelope. */
const offerSchema = z.object({ type: z.literal('offer'), link: z.literal('tcp') });
const answerSchema = z.object({
  type: z.literal('answer'),
  link: z.literal('tcp'),
  host: z.string().min(1).max(255),
  port: z.number().int().min(1).max(65_535),
  token: z.string().regex(new RegExp(`^[0-9a-f]{${2 * LINK_TOKEN_BYTES}}$`)),
});

type Listener<T extends unknown[]> = (...args: T) => void;

/**
 * A `DataPeer` over one TCP connection, for links between Node peers (node↔node on loopback: 606
 * MB/s against a data channel's 156, whose DTLS/SCTP is most of a swarm's CPU; bench/transport.ts).
 * Negotiated like a WebRTC peer, through
 * the same signaling relay: the dialer offers a direct link, the answerer replies with its
 * listener's address and a one-time token, the dialer connects and presents the token. Messages
 * are length-prefixed; both lanes share the socket (the send queue still puts ring messages ahead
 * of queued bulk ones). Not encrypted: direct links are for loopback and trusted networks
 * (docs/wire-protocol.md, "Direct links").
 */
export class TcpDataPeer implements DataPeer {
  private socket: Socket | undefined;
  // Messages are filled completely before use: no need to zero them first.
  private readonly decoder = new LengthPrefixDecoder(MAX_MESSAGE_BYTES, (n) => Buffer.allocUnsafeSlow(n));
  private readonly listeners = {
    signal: [] as Listener<[unknown]>[],
    connect: [] as Listener<[]>[],
    close: [] as Listener<[]>[],
    data: [] as Listener<[Uint8Array]>[],
    error: [] as Listener<[unknown]>[],
  };
  /** Messages that arrived before the first `data` listener (the remote may see the link open first). */
  private early: Uint8Array[] = [];
  private lowListeners: (() => void)[] = [];
  private forgetToken: (() => void) | undefined;
  private isDestroyed = false;
  private answered = false;
  readonly lanes: Readonly<Record<'ring' | 'bulk', DataLane>>;
  readonly link = 'tcp';
  readonly sendQueue = DIRECT_SEND_QUEUE;

  /**
   * `allowHost`: the dialer connects only to an answer whose host passes it (direct-link-host.ts);
   * the transport always gives one, a test pairing two peers by hand may leave it out.
   */
  constructor(private readonly opts: { readonly initiator: boolean; readonly listener: TcpLinkListener; readonly allowHost?: (host: string) => boolean }) {
    const buffered = (): number => this.socket?.writableLength ?? 0;
    const lane: DataLane = {
      get bufferedAmount() {
        return buffered();
      },
      send: (m) => this.send([m]),
      sendParts: (parts) => this.send(parts),
      onBufferedAmountLow: (_threshold, listener) => {
        // 'drain' fires once the socket's user-space buffer has emptied: at most the send queue's
        // low-water mark, whatever it is.
        this.lowListeners.push(listener);
      },
    };
    this.lanes = { ring: lane, bulk: lane };
    if (opts.initiator) queueMicrotask(() => this.emit('signal', { type: 'offer', link: 'tcp' }));
  }

  get destroyed(): boolean {
    return this.isDestroyed;
  }

  signal(data: unknown): void {
    if (this.isDestroyed) return;
    if (!this.opts.initiator) {
      if (this.answered || !offerSchema.safeParse(data).success) return this.fail(new DirectLinkSignalError('offer'));
      this.answered = true;
      void this.answer();
      return;
    }
    const answer = answerSchema.safeParse(data);
    if (!answer.success) return this.fail(new DirectLinkSignalError('answer'));
    if (this.socket !== undefined) return;
    const { host, port, token } = answer.data;
    // The answer comes from the remote member: its host must be the remote's own address.
    if (this.opts.allowHost !== undefined && !this.opts.allowHost(host)) return this.fail(new DirectLinkHostError(host, undefined));
    const socket = connect({ host, port });
    this.socket = socket;
    socket.once('connect', () => {
      socket.write(Buffer.from(token, 'hex'));
      this.attach(socket, new Uint8Array(0));
    });
    socket.once('error', (err) => this.fail(err));
  }

  on(event: 'signal', listener: (data: unknown) => void): void;
  on(event: 'connect' | 'close', listener: () => void): void;
  on(event: 'data', listener: (message: Uint8Array) => void): void;
  on(event: 'error', listener: (err: unknown) => void): void;
  on(event: keyof TcpDataPeer['listeners'], listener: (...args: never[]) => void): void {
    (this.listeners[event] as unknown[]).push(listener);
    if (event === 'data') for (const m of this.early.splice(0)) (listener as Listener<[Uint8Array]>)(m);
  }

  destroy(): void {
    if (this.isDestroyed) return;
    this.isDestroyed = true;
    this.forgetToken?.();
    this.socket?.destroy();
    queueMicrotask(() => this.emit('close'));
  }

  private async answer(): Promise<void> {
    let address;
    try {
      address = await this.opts.listener.address();
    } catch (err) {
      return this.fail(err);
    }
    if (this.isDestroyed) return;
    const token = randomBytes(LINK_TOKEN_BYTES);
    this.forgetToken = this.opts.listener.expect(token, (socket, rest) => {
      if (this.isDestroyed || this.socket !== undefined) return void socket.destroy();
      this.socket = socket;
      this.attach(socket, rest);
    });
    this.emit('signal', { type: 'answer', link: 'tcp', host: address.host, port: address.port, token: token.toString('hex') });
  }

  private attach(socket: Socket, rest: Uint8Array): void {
    if (this.isDestroyed) return void socket.destroy();
    // Ring frames are small and latency-bound: never hold them back for coalescing (Nagle).
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_MS);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('drain', () => {
      for (const l of this.lowListeners) l();
    });
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => {
      if (this.isDestroyed) return;
      this.isDestroyed = true;
      this.emit('close');
    });
    this.emit('connect');
    if (rest.byteLength > 0) this.receive(rest);
  }

  private receive(chunk: Uint8Array): void {
    if (this.isDestroyed) return;
    let messages: Uint8Array[];
    try {
      messages = this.decoder.push(chunk);
    } catch (err) {
      return this.fail(err); // a length no ringmesh peer sends: drop the link
    }
    for (const b of messages) {
      // A plain Uint8Array over the same bytes: the layers above are shared code, and a Buffer's
      // `slice` is a view where theirs must be a copy (ring-frames aligns tensors by copying).
      const m = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      if (this.listeners.data.length === 0) this.early.push(m);
      else for (const l of this.listeners.data) l(m);
    }
  }

  private send(parts: readonly Uint8Array[]): void {
    const socket = this.socket;
    if (socket === undefined || this.isDestroyed || socket.destroyed) throw new ChannelNotOpenError('direct link');
    let length = 0;
    for (const p of parts) length += p.byteLength;
    // One writev for prefix and parts. No copy: the send queue's messages are never reused, and a
    // PIECE's data part is the sender's piece buffer, which nothing writes to once stored.
    socket.cork();
    socket.write(lengthPrefix(length));
    for (const p of parts) socket.write(p);
    process.nextTick(() => socket.uncork());
  }

  private fail(err: unknown): void {
    if (this.isDestroyed) return;
    this.emit('error', err);
    this.destroy();
  }

  private emit(event: 'signal', data: unknown): void;
  private emit(event: 'connect' | 'close'): void;
  private emit(event: 'error', err: unknown): void;
  private emit(event: keyof TcpDataPeer['listeners'], arg?: unknown): void {
    for (const l of [...this.listeners[event]] as Listener<[unknown]>[]) l(arg);
  }
}
