import { RingmeshError } from '../errors.ts';
import type { PeerId } from '../ids.ts';

/** Base of the transport's errors; `code` is stable (simple-peer style) for logs and metrics. */
export class TransportError extends RingmeshError {
  readonly code: string = 'ERR_TRANSPORT';
}

/** `connect()` did not get an open data channel in time (after its retries). */
export class ConnectTimeoutError extends TransportError {
  override readonly code = 'ERR_CONNECT_TIMEOUT';
  constructor(
    readonly remotePeerId: PeerId,
    timeoutMs: number,
    attempts: number,
    options?: { cause?: unknown },
  ) {
    super(`connect to ${remotePeerId}: no open data channel after ${timeoutMs} ms (${attempts} attempts)`, options);
  }
}

/** The connection closed (locally, remotely or on error) before or while a frame was sent. */
export class ConnectionClosedError extends TransportError {
  override readonly code = 'ERR_CONNECTION_CLOSED';
  constructor(
    readonly remotePeerId: PeerId,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`connection to ${remotePeerId} closed: ${reason}`, options);
  }
}

/** The data channel refused a message (e.g. `send()` after a remote close — seen in Chromium and node-datachannel). */
export class SendFailedError extends TransportError {
  override readonly code = 'ERR_SEND_FAILED';
  constructor(
    readonly remotePeerId: PeerId,
    options?: { cause?: unknown },
  ) {
    super(`send to ${remotePeerId} failed: the data channel refused the message`, options);
  }
}

/** The remote peer sent bytes that are not valid frames; the connection is dropped. */
export class ProtocolViolationError extends TransportError {
  override readonly code = 'ERR_PROTOCOL_VIOLATION';
  constructor(
    readonly remotePeerId: PeerId,
    options?: { cause?: unknown },
  ) {
    super(`peer ${remotePeerId} sent a malformed frame`, options);
  }
}

/**
 * Code handling a received frame threw (a `frame` listener, or the decode path with something other
 * than a wire error): the connection is closed, the process keeps running.
 */
export class FrameHandlerError extends TransportError {
  override readonly code = 'ERR_FRAME_HANDLER';
  constructor(
    readonly remotePeerId: PeerId,
    options?: { cause?: unknown },
  ) {
    super(`handling a frame from ${remotePeerId} threw: connection closed`, options);
  }
}

/** The remote reads too slowly: more frames wait to be sent to it than a connection may queue. */
export class SendQueueFullError extends TransportError {
  override readonly code = 'ERR_SEND_QUEUE_FULL';
  constructor(readonly frames: number) {
    super(`${frames} frames queued for a peer that does not read them: connection closed`);
  }
}

/** The WebRTC peer failed (ICE, DTLS, SCTP…); `cause` is the implementation's error. */
export class PeerFailedError extends TransportError {
  override readonly code = 'ERR_PEER_FAILED';
  constructor(
    readonly remotePeerId: PeerId,
    options?: { cause?: unknown },
  ) {
    super(`WebRTC connection to ${remotePeerId} failed`, options);
  }
}

/** `connect()` needs this peer's id from the signaling server, which it does not have yet. */
export class NotJoinedError extends TransportError {
  override readonly code = 'ERR_NOT_JOINED';
  constructor(options?: { cause?: unknown }) {
    super('the transport has not joined the signaling server yet (no local peer id)', options);
  }
}

/** The transport itself was closed. */
export class TransportClosedError extends TransportError {
  override readonly code = 'ERR_TRANSPORT_CLOSED';
  constructor() {
    super('the transport is closed');
  }
}

/** A transport option outside what the WebRTC stack accepts. */
export class TransportConfigError extends TransportError {
  override readonly code = 'ERR_TRANSPORT_CONFIG';
  constructor(option: string, problem: string) {
    super(`transport option ${option}: ${problem}`);
  }
}

/** A PING got no PONG in time (the connection itself stays open: the caller decides). */
export class PingTimeoutError extends TransportError {
  override readonly code = 'ERR_PING_TIMEOUT';
  constructor(
    readonly remotePeerId: PeerId,
    readonly requestId: number,
    readonly timeoutMs: number,
  ) {
    super(`PING ${requestId} to ${remotePeerId}: no PONG within ${timeoutMs} ms`);
  }
}

/** A data lane was used while its channel is not open: not yet connected, or already closed (`DataLane.send`). */
export class ChannelNotOpenError extends TransportError {
  override readonly code = 'ERR_CHANNEL_NOT_OPEN';
  constructor(what: string) {
    super(`${what} is not open`);
  }
}

/** The dedicated ring data channel closed or failed, which ends its whole WebRTC peer (simple-peer-data-peer.ts). */
export class RingChannelClosedError extends TransportError {
  override readonly code = 'ERR_RING_CHANNEL_CLOSED';
  constructor() {
    super('ring data channel closed');
  }
}

/** The remote sent more than a connection may hold before this side saw it open (simple-peer-data-peer.ts). */
export class EarlyDataFloodError extends TransportError {
  override readonly code = 'ERR_EARLY_DATA_FLOOD';
  constructor(messages: number, bytes: number) {
    super(`the remote sent ${messages} messages (${bytes} bytes) before the connection opened here: over the bound, link dropped`);
  }
}
