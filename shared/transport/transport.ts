import type { PeerId } from '../ids.ts';
import type { Frame } from '../wire/frame-types.ts';
import type { TransportError } from './errors.ts';

/**
 * Send priority. `ring` frames (activations, tokens, control) always go before `bulk` frames
 * (pieces), and only bulk frames wait for the channel's buffer to drain.
 */
export type Priority = 'ring' | 'bulk';

/** The carrier of a connection (shared/transport/data-peer.ts). */
export type LinkKind = 'webrtc' | 'tcp';

/**
 * Why a connection dropped what it received: `oversized` (a frame over its type's cap or the
 * reassembly budget), `malformed` (any other wire error), `handler-error` (a listener or the
 * decode path threw), `unlistened` (frames held for a first listener beyond their bound). The
 * first three also close the connection.
 */
export type FrameDropReason = 'oversized' | 'malformed' | 'handler-error' | 'unlistened';

/** Counters of one connection. */
export interface ConnectionStats {
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly framesSent: number;
  readonly framesReceived: number;
  /** Bytes accepted by `send` but not yet handed to the data channel. */
  readonly queuedBytes: number;
  /** The data channel's own `bufferedAmount`. */
  readonly bufferedAmount: number;
  /** Latest PING round trip in ms (smoothed, RFC 6298 style); undefined before the first PONG. */
  readonly rttMs: number | undefined;
  /** Lowest of the latest PING round trips in ms (the path without busy-loop waits); undefined before the first PONG. */
  readonly minRttMs?: number | undefined;
  /** Received frames (or messages) dropped, by reason; absent where a connection does not count them. */
  readonly dropped?: Readonly<Partial<Record<FrameDropReason, number>>>;
}

/** Why a connection ended; `error` is set when it did not end by a local `close()`. */
export interface CloseEvent {
  readonly reason: string;
  readonly error?: TransportError;
}

export interface PeerConnectionEvents {
  /** A complete, validated frame from the remote peer. */
  frame: Frame;
  /** Emitted once; no frame events follow. */
  close: CloseEvent;
}

/**
 * One open data channel to one remote peer, carrying ringmesh frames (shared/wire) in both
 * directions. Obtained from `Transport.connect()` or the transport's `connection` event.
 */
export interface PeerConnection {
  readonly remotePeerId: PeerId;
  /** What carries it, where known: a WebRTC data channel or a direct TCP link (Node↔Node). */
  readonly link?: LinkKind;
  readonly closed: boolean;
  /**
   * Queues a frame. Resolves once the whole frame has been handed to the data channel, so awaiting
   * it is the backpressure signal for bulk senders; rejects with `ConnectionClosedError` /
   * `SendFailedError` if the connection ends first, `InvalidFrameError` if the frame cannot be
   * encoded. Ring frames overtake queued bulk frames (even mid-piece).
   */
  send(frame: Frame, priority?: Priority): Promise<void>;
  /** Sends a PING (ring priority) and resolves with the round trip in ms. */
  ping(timeoutMs?: number): Promise<number>;
  on<K extends keyof PeerConnectionEvents>(event: K, listener: (payload: PeerConnectionEvents[K]) => void): () => void;
  stats(): ConnectionStats;
  /**
   * Whether the link runs through a TURN relay (the selected ICE candidate pair has a `relay`
   * candidate); false for a direct TCP link; undefined where unknown (no pair selected yet).
   */
  relayed?(): Promise<boolean | undefined>;
  /** Closes the channel and releases its native resources; pending sends reject. Idempotent. */
  close(reason?: string): void;
}

export interface TransportEvents {
  /** A connection opened by a remote peer (this side answered), now open. */
  connection: PeerConnection;
  /**
   * Every connection as it opens, whichever side dialed, before any of its frames is delivered
   * (layers that only listen — the ring — subscribe to frames here).
   */
  open: PeerConnection;
}

export interface ConnectOptions {
  /** Overall deadline across retries, ms (default 30 000). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * Opens data channels to other peers of the room on demand, signalled through the signaling
 * server. One connection per remote peer. Open connections do not depend on the signaling server:
 * they keep working while it is down or restarting.
 */
export interface Transport {
  /** This peer's id as assigned by the signaling server; undefined before the first `welcome`. */
  readonly localPeerId: PeerId | undefined;
  /**
   * Resolves with the open connection to `remote`, creating it when needed (retrying failed
   * attempts until the deadline). Rejects with `ConnectTimeoutError`, `NotJoinedError` or
   * `TransportClosedError`.
   */
  connect(remote: PeerId, options?: ConnectOptions): Promise<PeerConnection>;
  /** The open connection to `remote`, if any. */
  connection(remote: PeerId): PeerConnection | undefined;
  connections(): PeerConnection[];
  on<K extends keyof TransportEvents>(event: K, listener: (payload: TransportEvents[K]) => void): () => void;
  /** Closes every connection and stops answering signals (the signaling client is the caller's). */
  close(): Promise<void>;
}
