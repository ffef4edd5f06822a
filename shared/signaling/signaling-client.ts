import type { PeerId, RoomId } from '../ids.ts';
import type { BackoffOptions } from './backoff.ts';
import type { Clock } from '../util/clock.ts';
import type { SignalingProtocolError, SignalingServerError } from './errors.ts';
import type { Capabilities, PeerInfo, PeerJoinedMessage, PeerLeftMessage, PlanMessage, RelayedReportMessage, WelcomeMessage } from './protocol.ts';
import type { WebSocketConstructor } from './web-socket-like.ts';

/**
 * Lifecycle of a {@link SignalingClient}:
 * `idle` → `connecting` → `joined` ⇄ `reconnecting` → `closed`.
 * `joined` means a `welcome` arrived on the current socket.
 */
export type SignalingState = 'idle' | 'connecting' | 'joined' | 'reconnecting' | 'closed';

/** Events of a {@link SignalingClient}; every payload is the validated server frame. */
export interface SignalingEvents {
  /** Every `welcome`, the first one and each one after a reconnect (`resumed` says if the id was kept). */
  welcome: WelcomeMessage;
  'peer-joined': PeerJoinedMessage;
  'peer-left': PeerLeftMessage;
  /** A relayed signal; `from` was set by the server. */
  signal: { readonly from: PeerId; readonly data: unknown };
  plan: PlanMessage;
  report: RelayedReportMessage;
  /** An `error` frame from the server, or a server frame this client could not parse. */
  error: SignalingServerError | SignalingProtocolError;
  state: { readonly state: SignalingState; readonly previous: SignalingState; readonly code?: number; readonly reason?: string };
}

/** Options of `createSignalingClient`. */
export interface SignalingClientOptions {
  /** `ws://host:port/signal`. */
  readonly url: string;
  /** The WebSocket implementation: `globalThis.WebSocket` in browsers, `ws`'s default export in Node. */
  readonly WebSocket: WebSocketConstructor;
  readonly room: RoomId;
  readonly capabilities: Capabilities;
  /** Join token, when the server requires one. */
  readonly token?: string;
  readonly clock?: Clock;
  /** [0, 1) source for the backoff jitter (default Math.random). */
  readonly random?: () => number;
  readonly backoff?: BackoffOptions;
  /** Send a `heartbeat` this often while joined, ms (default 15 000). */
  readonly heartbeatIntervalMs?: number;
  /** Drop the socket and reconnect after this long without any frame from the server, ms (default 2.5 × interval). */
  readonly heartbeatTimeoutMs?: number;
  /** Give up on a socket that has not produced a `welcome` after this long, ms (default 10 000). */
  readonly connectTimeoutMs?: number;
}

/**
 * A peer's link to the signaling server. It joins one room, keeps the room's member view up to
 * date, relays signals, and reconnects by itself (exponential backoff, full jitter) after any
 * close the server does not mark as fatal, sending `hello` again with its resume token so it keeps
 * its peer id where the server allows. Data channels opened through it do not depend on it: they
 * keep working while it reconnects.
 */
export interface SignalingClient {
  readonly state: SignalingState;
  /** This peer's id; set by the first `welcome`, may change after a reconnect that was not resumed. */
  readonly peerId: PeerId | undefined;
  /** Membership epoch of the latest `welcome` / `peer-joined` / `peer-left`. */
  readonly epoch: number;
  /** The room as this client knows it, this peer included. */
  readonly members: ReadonlyMap<PeerId, PeerInfo>;
  /**
   * Opens the socket and joins. Resolves with the first `welcome`; keeps retrying with backoff
   * until then. Rejects with `SignalingClosedError` on a fatal close (bad token, version) or on
   * `close()`. Calling it again returns the same promise.
   */
  connect(): Promise<WelcomeMessage>;
  /** Relays `data` to `to`. Throws `SignalingNotConnectedError` unless `joined`. */
  sendSignal(to: PeerId, data: unknown): void;
  /** Sends a status report (`ready`, …) for the current epoch. Throws `SignalingNotConnectedError` unless `joined`. */
  report(kind: string, data?: unknown): void;
  /**
   * Asks the server to evict `peer` from the room for good (it failed verification, docs/ring.md
   * "Verified compute"). Only a trusted member's request is honoured. Throws
   * `SignalingNotConnectedError` unless `joined`. Optional: older clients lack it.
   */
  evict?(peer: PeerId, reason: string): void;
  /** Subscribes; returns the unsubscribe function. */
  on<K extends keyof SignalingEvents>(event: K, listener: (payload: SignalingEvents[K]) => void): () => void;
  /** Leaves the room, closes the socket and clears every timer (a Node process can then exit). */
  close(): Promise<void>;
}
