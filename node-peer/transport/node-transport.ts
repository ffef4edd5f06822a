import { TransportConfigError } from '../../shared/transport/errors.ts';
import { MAX_LINK_MTU, MIN_LINK_MTU } from '../../shared/transport/signal-envelope.ts';
import { WebRtcTransport, type WebRtcTransportOptions } from '../../shared/transport/webrtc-transport.ts';
import { createNodeDataPeerFactory, type NodeDataPeerOptions } from './node-data-peer.ts';

export type NodeTransportOptions = Omit<WebRtcTransportOptions, 'createPeer' | 'linkMtu'> &
  NodeDataPeerOptions & {
    /**
     * MTU of links to other Node peers (both ends libdatachannel), 1200–4096. libdatachannel's cost
     * is per packet, and 4096 gave node↔node about 1.6× the throughput of 1200 (bench/transport.ts).
     * Default (`defaultNodeLinkMtu`): 4096 when bound to loopback, where nothing fragments;
     * otherwise none is offered (1200), since a 4096-byte datagram is IP-fragmented on a 1500-byte
     * path and fragments are often dropped between networks: set it on a LAN known to carry them.
     * Links to browsers always keep 1200: Chromium's channels die with a larger one (TESTING.md).
     */
    readonly nodeLinkMtu?: number;
  };

/**
 * Bulk bytes in flight per connection (SendQueueOptions.windowBytes) for a Node peer: the transport's
 * 256 KiB (sized for pages) caps a Node link at window ÷ credit round trip, which under load is
 * a few ms: 1 MiB let node↔node go from 45–50% to 57% of WebSocket loopback (bench/transport.ts).
 */
export const NODE_BULK_WINDOW_BYTES = 1024 * 1024;

/** The link MTU a Node peer offers other Node peers unless told otherwise (see `nodeLinkMtu`). */
export function defaultNodeLinkMtu(bindAddress: string | undefined): number | undefined {
  return bindAddress !== undefined && isLoopback(bindAddress) ? MAX_LINK_MTU : undefined;
}

const isLoopback = (ip: string): boolean => ip === '::1' || ip === 'localhost' || /^127\./.test(ip);

/** Which MTU a Node peer uses toward `remote`: `nodeLinkMtu` to Node peers, the default to browsers. */
export function nodeLinkMtuPolicy(nodeLinkMtu: number): NonNullable<WebRtcTransportOptions['linkMtu']> {
  return (remote) => (remote?.capabilities.kind === 'node' ? nodeLinkMtu : undefined);
}

/** The Node peer's `Transport`: WebRTC data channels via node-datachannel, signalled through `signaling`. */
export function createNodeTransport(options: NodeTransportOptions): WebRtcTransport {
  const { iceServers, bindAddress, portRangeBegin, portRangeEnd, sctpSendBufferBytes, nodeLinkMtu = defaultNodeLinkMtu(bindAddress), ...rest } = options;
  if (nodeLinkMtu !== undefined && !(Number.isInteger(nodeLinkMtu) && nodeLinkMtu >= MIN_LINK_MTU && nodeLinkMtu <= MAX_LINK_MTU)) {
    throw new TransportConfigError('nodeLinkMtu', `${nodeLinkMtu} is not an integer in [${MIN_LINK_MTU}, ${MAX_LINK_MTU}]`);
  }
  const peerOptions: NodeDataPeerOptions = {
    ...(iceServers ? { iceServers } : {}),
    ...(bindAddress !== undefined ? { bindAddress } : {}),
    ...(portRangeBegin !== undefined ? { portRangeBegin } : {}),
    ...(portRangeEnd !== undefined ? { portRangeEnd } : {}),
    ...(sctpSendBufferBytes !== undefined ? { sctpSendBufferBytes } : {}),
  };
  return new WebRtcTransport({
    ...rest,
    sendQueue: { windowBytes: NODE_BULK_WINDOW_BYTES, ...rest.sendQueue },
    createPeer: createNodeDataPeerFactory(peerOptions),
    ...(nodeLinkMtu !== undefined ? { linkMtu: nodeLinkMtuPolicy(nodeLinkMtu) } : {}),
  });
}
