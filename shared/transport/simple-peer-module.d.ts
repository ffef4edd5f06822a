// Types for @thaunknown/simple-peer 10.x (the maintained ESM fork of simple-peer; ships no .d.ts).
// Only the surface ringmesh uses. It picks its RTCPeerConnection from `webrtc-polyfill`: native in
// browsers, node-datachannel in Node (forced to 0.33.4 by package.json overrides).
declare module '@thaunknown/simple-peer' {
  interface SimplePeerChannel {
    readonly bufferedAmount: number;
    readonly readyState: string;
    bufferedAmountLowThreshold: number;
    binaryType: string;
    send(data: Uint8Array): void;
    close(): void;
    addEventListener(type: 'bufferedamountlow' | 'open' | 'close' | 'error', listener: () => void): void;
    addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  }
  interface SimplePeerOptions {
    initiator?: boolean;
    trickle?: boolean;
    /** Passed to `new RTCPeerConnection(config)`; in Node extra keys reach libdatachannel. */
    config?: object;
    channelConfig?: object;
    objectMode?: boolean;
  }
  export default class Peer {
    constructor(options?: SimplePeerOptions);
    readonly destroyed: boolean;
    readonly connected: boolean;
    readonly bufferSize: number;
    /** Internal, but the only way to the channel's bufferedamountlow event (see wrapSimplePeer). */
    readonly _channel: SimplePeerChannel | null;
    /** Internal: the RTCPeerConnection, used to add the negotiated ring channel (see wrapSimplePeer). */
    readonly _pc: { createDataChannel(label: string, init: { negotiated: true; id: number }): SimplePeerChannel } | null;
    signal(data: unknown): void;
    send(chunk: Uint8Array): void;
    destroy(err?: Error): void;
    on(event: string, listener: (...args: never[]) => void): this;
  }
}
