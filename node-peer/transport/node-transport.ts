import { WebRtcTransport, type WebRtcTransportOptions } from '../../shared/transport/webrtc-transport.ts';
import { createNodeDataPeerFactory, type NodeDataPeerOptions } from './node-data-peer.ts';

export type NodeTransportOptions = Omit<WebRtcTransportOptions, 'createPeer'> & NodeDataPeerOptions;

/** The Node peer's `Transport`: WebRTC data channels via node-datachannel, signalled through `signaling`. */
export function createNodeTransport(options: NodeTransportOptions): WebRtcTransport {
  const { iceServers, bindAddress, portRangeBegin, portRangeEnd, sctpSendBufferBytes, ...rest } = options;
  const peerOptions: NodeDataPeerOptions = {
    ...(iceServers ? { iceServers } : {}),
    ...(bindAddress !== undefined ? { bindAddress } : {}),
    ...(portRangeBegin !== undefined ? { portRangeBegin } : {}),
    ...(portRangeEnd !== undefined ? { portRangeEnd } : {}),
    ...(sctpSendBufferBytes !== undefined ? { sctpSendBufferBytes } : {}),
  };
  return new WebRtcTransport({ ...rest, createPeer: createNodeDataPeerFactory(peerOptions) });
}
