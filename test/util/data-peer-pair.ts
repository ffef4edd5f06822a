// Two DataPeers of one link, negotiated by handing each one's signals to the other (what the
// signaling relay does between processes), for tests of a carrier without a signaling server.
import type { DataPeer } from '../../shared/transport/data-peer.ts';

export interface DataPeerPair {
  readonly dialer: DataPeer;
  readonly answerer: DataPeer;
}

/** Relays signals between `dialer` and `answerer` and resolves once both fired `connect`. */
export async function connectDataPeers(dialer: DataPeer, answerer: DataPeer, timeoutMs = 30_000): Promise<DataPeerPair> {
  dialer.on('signal', (s) => answerer.signal(s));
  answerer.on('signal', (s) => dialer.signal(s));
  const connected = (p: DataPeer): Promise<void> =>
    new Promise((resolve, reject) => {
      p.on('connect', resolve);
      p.on('error', reject);
    });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`data peers not connected within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([Promise.all([connected(dialer), connected(answerer)]), deadline]);
  } catch (err) {
    dialer.destroy();
    answerer.destroy();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return { dialer, answerer };
}
