import { TransportConfigError } from '../../shared/transport/errors.ts';
import { MAX_LINK_MTU, MIN_LINK_MTU } from '../../shared/transport/signal-envelope.ts';
import { PeerTransport, type PeerTransportOptions } from '../../shared/transport/peer-transport.ts';
import type { PeerInfo } from '../../shared/signaling/protocol.ts';
import { directLinkHostCheck } from './direct-link-host.ts';
import { createNodeDataPeerFactory, type NodeDataPeerOptions } from './node-data-peer.ts';
import { TcpDataPeer } from './tcp-data-peer.ts';
import { TcpLinkListener } from './tcp-link-listener.ts';

export type NodeTransportOptions = Omit<PeerTransportOptions, 'createPeer' | 'linkMtu'> &
  NodeDataPeerOptions & {
    /**
     * MTU of links to other Node peers (both ends libdatachannel), 1200–4096. libdatachannel's cost
     * is per packet, and 4096 gave node↔node about 1.6× the throughput of 1200 (bench/transport.ts).
     * Default (`defaultNodeLinkMtu`): 4096 when bound to loopback, where nothing fragments;
     * otherwise none is offered (1200), since a 4096-byte datagram is IP-fragmented on a 1500-byte
     * path and fragments are often dropped between networks: set it on a LAN known to carry them.
     * Links to browsers always keep 1200: Chromium's channels die with a larger one (docs/wire-protocol.md).
     */
    readonly nodeLinkMtu?: number;
    /**
     * Direct TCP links to other Node peers that make them (capabilities.directLinks), instead of
     * WebRTC: a socket costs a fraction of DTLS/SCTP's CPU per byte (bench/transport.ts), which is
     * what bounds a swarm of Node peers and every ring hop. A link listens on `bindAddress` and is
     * not encrypted, so the default (`defaultDirectLinks`) is on only when bound to loopback; turn
     * it on for a trusted LAN. Links to browsers are always WebRTC.
     */
    readonly directLinks?: boolean;
    /**
     * Hosts a direct-link answer may name besides the address the signaling server saw the remote
     * connect from (e.g. a peer that reaches the server through another interface than it binds).
     */
    readonly directLinkHosts?: readonly string[];
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

/** Whether a Node peer makes direct links unless told otherwise (see `directLinks`). */
export function defaultDirectLinks(bindAddress: string | undefined): boolean {
  return bindAddress !== undefined && isLoopback(bindAddress);
}

/** Offer a direct link to Node peers that said they take one. */
export const directLinkPolicy = (remote: PeerInfo | undefined): boolean => remote?.capabilities.kind === 'node' && remote.capabilities.directLinks === true;

const isLoopback = (ip: string): boolean => ip === '::1' || ip === 'localhost' || /^127\./.test(ip);

/** Which MTU a Node peer uses toward `remote`: `nodeLinkMtu` to Node peers, the default to browsers. */
export function nodeLinkMtuPolicy(nodeLinkMtu: number): NonNullable<PeerTransportOptions['linkMtu']> {
  return (remote) => (remote?.capabilities.kind === 'node' ? nodeLinkMtu : undefined);
}

/** The Node peer's `Transport`: WebRTC data channels via node-datachannel, signalled through `signaling`. */
export function createNodeTransport(options: NodeTransportOptions): PeerTransport {
  const {
    iceServers,
    bindAddress,
    portRangeBegin,
    portRangeEnd,
    sctpSendBufferBytes,
    nodeLinkMtu = defaultNodeLinkMtu(bindAddress),
    directLinks = defaultDirectLinks(bindAddress),
    directLinkHosts,
    ...rest
  } = options;
  if (directLinks && bindAddress === undefined) throw new TransportConfigError('directLinks', 'needs a bind address: the address other Node peers dial');
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
  const listener = directLinks && bindAddress !== undefined ? new TcpLinkListener(bindAddress) : undefined;
  const webrtc = createNodeDataPeerFactory(peerOptions);
  // The transport asks `directLink(remote)` and, when it says yes, creates that dial's peer at once
  // (same tick): the room entry seen there is the remote whose answer the new dialer will get.
  let dialing: PeerInfo | undefined;
  const directLink = (remote: PeerInfo | undefined): boolean => {
    const yes = directLinkPolicy(remote);
    dialing = yes ? remote : undefined;
    return yes;
  };
  const createTcpPeer = (initiator: boolean, link: TcpLinkListener): TcpDataPeer => {
    const remote = initiator ? dialing : undefined;
    dialing = undefined;
    return new TcpDataPeer({ initiator, listener: link, allowHost: directLinkHostCheck(remote, directLinkHosts) });
  };
  return new PeerTransport({
    ...rest,
    sendQueue: { windowBytes: NODE_BULK_WINDOW_BYTES, ...rest.sendQueue },
    createPeer: (o) => (o.link === 'tcp' && listener !== undefined ? createTcpPeer(o.initiator, listener) : webrtc(o)),
    ...(nodeLinkMtu !== undefined ? { linkMtu: nodeLinkMtuPolicy(nodeLinkMtu) } : {}),
    ...(listener !== undefined ? { directLink, release: () => listener.close() } : {}),
  });
}
