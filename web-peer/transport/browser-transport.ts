import Peer from '@thaunknown/simple-peer';
import type { DataPeerFactory } from '../../shared/transport/data-peer.ts';
import { wrapSimplePeer } from '../../shared/transport/simple-peer-data-peer.ts';
import { PeerTransport, type PeerTransportOptions } from '../../shared/transport/peer-transport.ts';

export interface BrowserTransportOptions extends Omit<PeerTransportOptions, 'createPeer'> {
  /** STUN/TURN servers from configuration; none by default (docs/security.md). */
  readonly iceServers?: readonly RTCIceServer[];
}

/** simple-peer over the browser's native RTCPeerConnection (the fork finds it on `window`). */
function createBrowserDataPeerFactory(iceServers: readonly RTCIceServer[] = []): DataPeerFactory {
  // Always explicit: simple-peer's default config names public STUN servers.
  const config: RTCConfiguration = { iceServers: iceServers.map((s) => ({ ...s })) };
  return ({ initiator }) => wrapSimplePeer(new Peer({ initiator, trickle: true, config }));
}

/**
 * While ring frames flow, a page holds bulk in flight to 8 KiB in 4 KiB messages (the transport's
 * default is 32 / 16 KiB). A ring frame waits behind about that window ÷ the link's throughput, and
 * a page's links carry 10–20 MB/s, not a Node link's 60–80: 32 KiB there is 2–3 ms per hop.
 */
const PAGE_RING_ACTIVE = { ringActiveWindowBytes: 8 * 1024, ringActiveMessageBytes: 4 * 1024 } as const;

/** The page's `Transport`: WebRTC data channels signalled through `signaling`. */
export function createBrowserTransport(options: BrowserTransportOptions): PeerTransport {
  const { iceServers, ...rest } = options;
  return new PeerTransport({ ...rest, sendQueue: { ...PAGE_RING_ACTIVE, ...rest.sendQueue }, createPeer: createBrowserDataPeerFactory(iceServers) });
}
