import Peer from '@thaunknown/simple-peer';
import type { DataPeerFactory } from '../../shared/transport/data-peer.ts';
import { wrapSimplePeer } from '../../shared/transport/simple-peer-data-peer.ts';
import { WebRtcTransport, type WebRtcTransportOptions } from '../../shared/transport/webrtc-transport.ts';

export interface BrowserTransportOptions extends Omit<WebRtcTransportOptions, 'createPeer'> {
  /** STUN/TURN servers from configuration; none by default (DESIGN §9). */
  readonly iceServers?: readonly RTCIceServer[];
}

/** simple-peer over the browser's native RTCPeerConnection (the fork finds it on `window`). */
export function createBrowserDataPeerFactory(iceServers: readonly RTCIceServer[] = []): DataPeerFactory {
  // Always explicit: simple-peer's default config names public STUN servers.
  const config: RTCConfiguration = { iceServers: iceServers.map((s) => ({ ...s })) };
  return ({ initiator }) => wrapSimplePeer(new Peer({ initiator, trickle: true, config }));
}

/** The page's `Transport`: WebRTC data channels signalled through `signaling`. */
export function createBrowserTransport(options: BrowserTransportOptions): WebRtcTransport {
  const { iceServers, ...rest } = options;
  return new WebRtcTransport({ ...rest, createPeer: createBrowserDataPeerFactory(iceServers) });
}
