/**
 * The slice of a WebRTC peer (one RTCPeerConnection + one data channel) the transport needs. The
 * node and browser sides inject a factory (node-peer/transport, web-peer/transport); both wrap
 * @thaunknown/simple-peer with `wrapSimplePeer`.
 */
export interface DataPeer {
  /** Feed a signal (SDP/ICE) from the remote side. */
  signal(data: unknown): void;
  /** Writes one message; throws when the channel is not open. */
  send(message: Uint8Array): void;
  readonly bufferedAmount: number;
  /** Sets the channel's `bufferedAmountLowThreshold` and calls `listener` on each `bufferedamountlow`. */
  onBufferedAmountLow(threshold: number, listener: () => void): void;
  on(event: 'signal', listener: (data: unknown) => void): void;
  on(event: 'connect' | 'close', listener: () => void): void;
  on(event: 'data', listener: (message: Uint8Array) => void): void;
  on(event: 'error', listener: (err: unknown) => void): void;
  readonly destroyed: boolean;
  /** Closes channel and peer connection, releasing native handles. Idempotent. */
  destroy(): void;
}

/** Creates one side of a connection; `initiator` makes the offer. */
export type DataPeerFactory = (options: { initiator: boolean }) => DataPeer;
