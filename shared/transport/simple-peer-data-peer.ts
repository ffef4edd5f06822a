import type { DataPeer } from './data-peer.ts';

/** The structural surface of a @thaunknown/simple-peer instance that `wrapSimplePeer` uses. */
export interface SimplePeerLike {
  readonly destroyed: boolean;
  readonly bufferSize: number;
  readonly _channel: {
    readonly bufferedAmount: number;
    bufferedAmountLowThreshold: number;
    addEventListener(type: 'bufferedamountlow', listener: () => void): void;
  } | null;
  signal(data: unknown): void;
  send(chunk: Uint8Array): void;
  destroy(err?: Error): void;
  on(event: string, listener: (...args: never[]) => void): unknown;
}

/**
 * Adapts a simple-peer instance (Node or browser) to `DataPeer`. Node and browser differ only in
 * the RTCPeerConnection underneath, which the fork picks itself.
 */
export function wrapSimplePeer(peer: SimplePeerLike): DataPeer {
  return {
    signal(data) {
      // TESTING.md pitfall: a late signal can reach a peer that was just destroyed; simple-peer
      // throws ERR_DESTROYED then. Nothing is left to negotiate, so drop it.
      if (!peer.destroyed) peer.signal(data);
    },
    send(message) {
      peer.send(message);
    },
    get bufferedAmount() {
      return peer.bufferSize;
    },
    onBufferedAmountLow(threshold, listener) {
      const channel = peer._channel;
      if (!channel) return;
      // simple-peer keeps its own onbufferedamountlow handler (64 KiB threshold) for its stream
      // API, which we do not use; addEventListener sits beside it and our threshold replaces its.
      channel.bufferedAmountLowThreshold = threshold;
      channel.addEventListener('bufferedamountlow', listener);
    },
    on(event: string, listener: (...args: never[]) => void) {
      peer.on(event, listener);
    },
    get destroyed() {
      return peer.destroyed;
    },
    destroy() {
      if (!peer.destroyed) peer.destroy();
    },
  };
}
