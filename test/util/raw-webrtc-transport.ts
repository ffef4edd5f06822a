// The project's WebRTC transport (node-datachannel, loopback) for a hostile test member, keeping
// each connection's DataPeer so raw bytes can bypass the codec.
import { createNodeDataPeerFactory } from '../../node-peer/transport/node-data-peer.ts';
import type { PeerId } from '../../shared/ids.ts';
import type { SignalingClient } from '../../shared/signaling/signaling-client.ts';
import type { DataPeer } from '../../shared/transport/data-peer.ts';
import { PeerTransport } from '../../shared/transport/peer-transport.ts';

export interface RawWebRtcTransport {
  readonly transport: PeerTransport;
  /** The data channel under the open connection to `remote`: raw messages, no codec. */
  raw(remote: PeerId): DataPeer;
}

export function rawWebRtcTransport(signaling: SignalingClient): RawWebRtcTransport {
  const webrtc = createNodeDataPeerFactory({ bindAddress: '127.0.0.1' });
  // A peer's `connect` listener here runs before the transport's, which emits `open` synchronously:
  // `latest` is the DataPeer of the connection that `open` announces.
  let latest: DataPeer | undefined;
  const transport = new PeerTransport({
    signaling,
    createPeer: (o) => {
      const p = webrtc(o);
      p.on('connect', () => (latest = p));
      return p;
    },
  });
  const raws = new Map<PeerId, DataPeer>();
  transport.on('open', (c) => void (latest && raws.set(c.remotePeerId, latest)));
  return {
    transport,
    raw: (remote) => {
      const r = raws.get(remote);
      if (r === undefined) throw new Error(`no data peer to ${remote}`);
      return r;
    },
  };
}
