// The Transport contract (test/contracts/transport.contract.ts) against both carriers a Node peer
// has: simple-peer over node-datachannel (real WebRTC on loopback) and the direct TCP link.
import { createNodeDataPeerFactory } from '../../../node-peer/transport/node-data-peer.ts';
import { TcpDataPeer } from '../../../node-peer/transport/tcp-data-peer.ts';
import { TcpLinkListener } from '../../../node-peer/transport/tcp-link-listener.ts';
import { runTransportContract } from '../../contracts/transport.contract.ts';
import { connectDataPeers } from '../../util/data-peer-pair.ts';

runTransportContract('simple-peer over node-datachannel', () => {
  const webrtc = createNodeDataPeerFactory({ bindAddress: '127.0.0.1' });
  return { connect: () => connectDataPeers(webrtc({ initiator: true }), webrtc({ initiator: false })) };
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
