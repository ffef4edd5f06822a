import { relayAddressOf, relayedFromStats, type StatsLike } from './candidate-pair.ts';
import type { DataLane, DataPeer } from './data-peer.ts';
import { ChannelNotOpenError, EarlyDataFloodError, RingChannelClosedError } from './errors.ts';

/** A data channel as simple-peer's internals and the RTCPeerConnection expose it (browser or polyfill). */
export interface RtcChannelLike {
  readonly bufferedAmount: number;
  readonly readyState: string;
  bufferedAmountLowThreshold: number;
  binaryType: string;
  send(data: Uint8Array): void;
  close(): void;
  addEventListener(type: 'bufferedamountlow' | 'open' | 'close' | 'error', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
}

/** The structural surface of a @thaunknown/simple-peer instance that `wrapSimplePeer` uses. */
export interface SimplePeerLike {
  readonly destroyed: boolean;
  readonly _channel: RtcChannelLike | null;
  readonly _pc: { createDataChannel(label: string, init: { negotiated: true; id: number }): RtcChannelLike; getStats?(): Promise<StatsLike> } | null;
  signal(data: unknown): void;
  send(chunk: Uint8Array): void;
  destroy(err?: Error): void;
  on(event: string, listener: (...args: never[]) => void): unknown;
}

/**
 * SCTP stream id of the dedicated ring channel (negotiated out of band: both sides create it with
 * this id, no extra signalling). simple-peer's own channel takes id 0 or 1 (DTLS role).
 */
export const RING_CHANNEL_ID = 7;

/**
 * What one peer may hold for its owner before it listens: the remote's first frames (it saw the
 * link open first), a few milliseconds' worth. A remote that keeps sending on an open channel while
 * this side never connects (it withholds the other channel's open) would otherwise grow it without
 * end; over the bound the peer is destroyed.
 */
export const MAX_EARLY_MESSAGES = 1024;
export const MAX_EARLY_BYTES = 16 * 1024 * 1024;

function laneOf(channel: RtcChannelLike): DataLane {
  return {
    get bufferedAmount() {
      return channel.bufferedAmount;
    },
    send: (m) => {
      // The same typed error whichever stack is underneath (polyfills and browsers throw their own).
      if (channel.readyState !== 'open') throw new ChannelNotOpenError(`data channel (${channel.readyState})`);
      channel.send(m);
    },
    onBufferedAmountLow(threshold, listener) {
      channel.bufferedAmountLowThreshold = threshold;
      // Beside simple-peer's own onbufferedamountlow (its stream API, unused here).
      channel.addEventListener('bufferedamountlow', listener);
    },
  };
}

const toBytes = (data: unknown): Uint8Array | undefined =>
  data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : undefined;

/**
 * Adapts a just-constructed simple-peer instance (Node or browser: they differ only in the
 * RTCPeerConnection underneath, which the fork picks itself) to `DataPeer`. With `ringChannel`
 * it adds a second, negotiated data channel for ring frames; measured in bench/transport.ts, it
 * keeps small frames from waiting behind bulk data already inside the SCTP stack.
 */
export function wrapSimplePeer(peer: SimplePeerLike, options: { ringChannel?: boolean } = {}): DataPeer {
  const dataListeners: Array<(m: Uint8Array) => void> = [];
  const connectListeners: Array<() => void> = [];
  // Messages can arrive before the owner listens (the remote may see the connection open first):
  // hold them until the first `data` listener.
  const early: Uint8Array[] = [];
  let earlyBytes = 0;
  const deliver = (m: Uint8Array): void => {
    if (dataListeners.length > 0) {
      for (const l of dataListeners) l(m);
      return;
    }
    if (peer.destroyed) return;
    earlyBytes += m.byteLength;
    if (early.length >= MAX_EARLY_MESSAGES || earlyBytes > MAX_EARLY_BYTES) {
      const held = early.length + 1;
      early.length = 0;
      peer.destroy(new EarlyDataFloodError(held, earlyBytes));
      return;
    }
    early.push(m);
  };
  let ring: RtcChannelLike | undefined;
  let peerConnected = false;
  let ringOpen = false;
  const maybeConnected = (): void => {
    if (peerConnected && (ring === undefined || ringOpen) && !peer.destroyed) for (const l of connectListeners) l();
  };
  if (options.ringChannel !== false && peer._pc) {
    ring = peer._pc.createDataChannel('ringmesh-ring', { negotiated: true, id: RING_CHANNEL_ID });
    ring.binaryType = 'arraybuffer';
    ring.addEventListener('open', () => {
      ringOpen = true;
      maybeConnected();
    });
    ring.addEventListener('message', (e) => {
      const m = toBytes(e.data);
      if (m) deliver(m);
    });
    // Losing the ring channel loses the connection: tear the whole peer down.
    const lost = (): void => {
      if (!peer.destroyed) peer.destroy(new RingChannelClosedError());
    };
    ring.addEventListener('close', lost);
    ring.addEventListener('error', lost);
  }
  // simple-peer emits 'error' on destroy(err) (the ring channel's loss above, too): an owner that
  // stopped listening after a close must not turn that into an uncaught exception.
  peer.on('error', () => undefined);
  peer.on('connect', () => {
    peerConnected = true;
    maybeConnected();
  });
  peer.on('data', (m: Uint8Array) => deliver(m));
  let lanes: Record<'ring' | 'bulk', DataLane> | undefined;
  let destroyCalled = false;
  /** The remote's relay candidates (address:port), for `relayed()`: bounded, they come from the remote. */
  const remoteRelays = new Set<string>();
  return {
    signal(data) {
      noteRemoteRelays(data, remoteRelays);
      // A known pitfall: a late signal can reach a peer that was just destroyed; simple-peer
      // throws ERR_DESTROYED then. Nothing is left to negotiate, so drop it.
      if (!destroyCalled && !peer.destroyed) peer.signal(data);
    },
    get lanes() {
      if (!lanes) {
        if (!peer._channel) throw new ChannelNotOpenError('data channel (not connected yet)');
        const bulk = laneOf(peer._channel);
        lanes = { bulk, ring: ring ? laneOf(ring) : bulk };
      }
      return lanes;
    },
    on(event: string, listener: (...args: never[]) => void) {
      if (event === 'data') {
        const l = listener as (m: Uint8Array) => void;
        dataListeners.push(l);
        for (const m of early.splice(0)) l(m);
      } else if (event === 'connect') connectListeners.push(listener as () => void);
      else peer.on(event, listener);
    },
    get destroyed() {
      // simple-peer tears down a macrotask after destroy(); the peer is gone for us at once.
      return destroyCalled || peer.destroyed;
    },
    async relayed() {
      const pc = peer._pc;
      if (peer.destroyed || pc?.getStats === undefined) return undefined;
      try {
        return relayedFromStats(await pc.getStats(), remoteRelays);
      } catch {
        return undefined; // closed meanwhile: unknown
      }
    },
    destroy() {
      destroyCalled = true;
      if (!peer.destroyed) peer.destroy();
      try {
        ring?.close();
      } catch {
        // already closed with its peer connection
      }
    },
  };
}

/** Relay candidates a remote signal carries (a trickled candidate, or lines of an SDP), at most 16 kept. */
function noteRemoteRelays(data: unknown, into: Set<string>): void {
  const d = data as { candidate?: { candidate?: unknown }; sdp?: unknown } | null;
  const lines = typeof d?.candidate?.candidate === 'string' ? [d.candidate.candidate] : typeof d?.sdp === 'string' ? d.sdp.split('\n') : [];
  for (const line of lines) {
    const at = line.length < 512 ? relayAddressOf(line) : undefined;
    if (at !== undefined && into.size < 16) into.add(at);
  }
}
