import Peer from '@thaunknown/simple-peer';
import { setSctpSettings } from 'node-datachannel';
import type { DataPeerFactory } from '../../shared/transport/data-peer.ts';
import { wrapSimplePeer } from '../../shared/transport/simple-peer-data-peer.ts';

/** An ICE server from configuration (STUN/TURN, credentials for TURN). */
export interface IceServer {
  readonly urls: string | string[];
  readonly username?: string;
  readonly credential?: string;
}

export interface NodeDataPeerOptions {
  /** STUN/TURN servers; none by default (docs/security.md: ICE servers are configuration only). */
  readonly iceServers?: readonly IceServer[];
  /**
   * Local address libjuice binds to. Tests pass '127.0.0.1': libjuice skips loopback
   * otherwise, and inside a lo-only namespace there is nothing else.
   */
  readonly bindAddress?: string;
  readonly portRangeBegin?: number;
  readonly portRangeEnd?: number;
  /**
   * usrsctp's per-association send buffer, bytes (process-wide; applies to connections created
   * afterwards). Data in it is no longer counted by `bufferedAmount`, so the send queue cannot put
   * a ring frame ahead of it. While ring frames flow the send queue keeps bulk in flight to 32 KiB
   * anyway (ring-active mode), so this only bounds the wait of the first ring frame after a quiet
   * spell; smaller than the 1 MiB bulk window it capped node↔node throughput (bench/transport.ts:
   * 256 KiB 45–50% of WebSocket loopback, 1 MiB 57%). Default 1 MiB.
   */
  readonly sctpSendBufferBytes?: number;
}

/**
 * simple-peer over node-datachannel: @thaunknown/simple-peer takes its RTCPeerConnection from
 * `webrtc-polyfill`, whose Node build is node-datachannel (0.33.4 via overrides). It has no `wrtc`
 * option; none is needed. Its polyfill calls node-datachannel's `cleanup()` when the last peer
 * connection closes, so a process exits by itself once every connection is closed.
 * Neither fix Feross simple-peer 9 needed (docs/troubleshooting.md) applies: this polyfill's `sdp` is writable,
 * and we trickle, so no null end-of-candidates event is awaited.
 */
export function createNodeDataPeerFactory(options: NodeDataPeerOptions = {}): DataPeerFactory {
  setSctpSettings({ sendBufferSize: options.sctpSendBufferBytes ?? 1024 * 1024 });
  const config = {
    // Always explicit: simple-peer's default config names public STUN servers.
    iceServers: (options.iceServers ?? []).map((s) => ({ ...s })),
    ...(options.bindAddress !== undefined ? { bindAddress: options.bindAddress } : {}),
    ...(options.portRangeBegin !== undefined ? { portRangeBegin: options.portRangeBegin } : {}),
    ...(options.portRangeEnd !== undefined ? { portRangeEnd: options.portRangeEnd } : {}),
  };
  // `mtu` goes straight to libdatachannel (docs/troubleshooting.md), which sizes its DTLS/SCTP packets by it.
  return ({ initiator, mtu }) => wrapSimplePeer(new Peer({ initiator, trickle: true, config: { ...config, ...(mtu !== undefined ? { mtu } : {}) } }));
}
