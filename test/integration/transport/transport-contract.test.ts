// The Transport contract (test/contracts/transport.contract.ts) against both carriers a Node peer
// has: simple-peer over node-datachannel (real WebRTC on loopback) and the direct TCP link.
import { createNodeDataPeerFactory } from '../../../node-peer/transport/node-data-peer.ts';
import { TcpDataPeer } from '../../../node-peer/transport/tcp-data-peer.ts';
import { TcpLinkListener } from '../../../node-peer/transport/tcp-link-listener.ts';
import { runTransportContract } from '../../contracts/transport.contract.ts';
import { connectDataPeers, type DataPeerPair } from '../../util/data-peer-pair.ts';

runTransportContract('simple-peer over node-datachannel', () => {
  const webrtc = createNodeDataPeerFactory({ bindAddress: '127.0.0.1' });
  // A loopback WebRTC connect now and then fails on a loaded machine (a channel closes while the
  // association comes up); the transport's dial tries again (peer-transport.ts), and so does this.
  const connect = async (tries = 3): Promise<DataPeerPair> => {
    try {
      return await connectDataPeers(webrtc({ initiator: true }), webrtc({ initiator: false }), 15_000);
    } catch (err) {
      if (tries <= 1) throw err;
      return connect(tries - 1);
    }
  };
  return { connect: () => connect() };
});

runTransportContract('direct TCP link', () => {
  // Each side has its own listener, as two Node peers do; only the answerer's is dialed.
  const listeners = [new TcpLinkListener('127.0.0.1'), new TcpLinkListener('127.0.0.1')] as const;
  return {
    connect: () =>
      connectDataPeers(new TcpDataPeer({ initiator: true, listener: listeners[0] }), new TcpDataPeer({ initiator: false, listener: listeners[1] })),
    release: () => listeners.forEach((l) => l.close()),
  };
});
