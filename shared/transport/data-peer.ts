import type { Lane } from '../wire/chunking.ts';
import type { SendQueueOptions } from './send-queue.ts';

/** One data channel as the send queue sees it. */
export interface DataLane {
  readonly bufferedAmount: number;
  /** Writes one message; throws when the channel is not open. */
  send(message: Uint8Array): void;
  /** Writes one message given as parts without joining them (a socket can); absent: the queue joins them. */
  sendParts?(parts: readonly Uint8Array[]): void;
  /** Sets the channel's `bufferedAmountLowThreshold` and calls `listener` on each `bufferedamountlow`. */
  onBufferedAmountLow(threshold: number, listener: () => void): void;
}

/**
 * The slice of a WebRTC peer (one RTCPeerConnection, one or two data channels) the transport
 * needs. The node and browser sides inject a factory (node-peer/transport, web-peer/transport);
 * both wrap @thaunknown/simple-peer with `wrapSimplePeer`.
 */
export interface DataPeer {
  /** Feed a signal (SDP/ICE) from the remote side. */
  signal(data: unknown): void;
  /**
   * Where each lane's messages go once connected. `ring` may be a dedicated channel (so ring
   * frames do not queue behind bulk data inside the SCTP stack) or the same object as `bulk`.
   */
  readonly lanes: Readonly<Record<Lane, DataLane>>;
  /** `connect` fires once every channel is open; `data` carries messages from any channel. */
  on(event: 'signal', listener: (data: unknown) => void): void;
  on(event: 'connect' | 'close', listener: () => void): void;
  on(event: 'data', listener: (message: Uint8Array) => void): void;
  on(event: 'error', listener: (err: unknown) => void): void;
  /** True from the `destroy()` call on (whatever the stack still tears down), or once the link ended. */
  readonly destroyed: boolean;
  /** What carries the messages (default 'webrtc'). */
  readonly link?: 'webrtc' | 'tcp';
  /**
   * Send-queue settings this carrier wants over the transport's (a socket takes far larger
   * messages and windows than a data channel); absent: the transport's.
   */
  readonly sendQueue?: Partial<SendQueueOptions>;
  /** Whether the selected ICE candidate pair is relayed (candidate-pair.ts); absent: unknown. */
  relayed?(): Promise<boolean | undefined>;
  /** Closes channels and peer connection, releasing native handles. Idempotent. */
  destroy(): void;
}

export interface DataPeerOptions {
  /** This side makes the offer. */
  readonly initiator: boolean;
  /**
   * Packet size for DTLS/SCTP, bytes, agreed for this link (`PeerTransportOptions.linkMtu`);
   * absent: the WebRTC stack's default. Only factories whose stack can set it use it.
   */
  readonly mtu?: number;
  /** 'tcp': a direct link between Node peers (PeerTransportOptions.directLink), not WebRTC. */
  readonly link?: 'tcp';
}

/** Creates one side of a connection. */
export type DataPeerFactory = (options: DataPeerOptions) => DataPeer;
