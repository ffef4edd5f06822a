// A misbehaving node peer for the swarm tests: the real piece peer, but every PIECE it sends has
// one byte flipped. Takes the `node-peer start` flags it needs; prints JSON event lines.
import { parseArgs } from 'node:util';
import { startPiecePeer } from '../../node-peer/peer/piece-peer.ts';
import type { PeerConnection } from '../../shared/transport/transport.ts';

const { values } = parseArgs({
  options: {
    signal: { type: 'string' },
    model: { type: 'string' },
    'cache-dir': { type: 'string' },
    'bind-address': { type: 'string' },
    origin: { type: 'string' },
    replica: { type: 'string' },
    layers: { type: 'string' },
  },
});
const corrupt = (conn: PeerConnection): PeerConnection =>
  new Proxy(conn, {
    get(target, prop, receiver) {
      if (prop !== 'send') {
        const v: unknown = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      }
      return (frame: Parameters<PeerConnection['send']>[0], priority?: Parameters<PeerConnection['send']>[1]) => {
        if (frame.type === 'PIECE' && frame.unit !== 'manifest') {
          const data = frame.data.slice();
          data[data.length >> 1] = (data[data.length >> 1] ?? 0) ^ 0x5a;
          return target.send({ ...frame, data }, priority);
        }
        return target.send(frame, priority);
      };
    },
  });
const peer = await startPiecePeer({
  signalUrl: values.signal ?? '',
  model: values.model ?? '',
  cacheDir: values['cache-dir'] ?? '',
  replicaFull: true,
  bindAddress: values['bind-address'] ?? '127.0.0.1',
  decorateConnection: corrupt,
  ...(values.origin ? { origin: values.origin } : {}),
});
console.log(JSON.stringify({ event: 'joined', peerId: peer.signaling.peerId, modelId: peer.modelId }));
await peer.swarm.ready;
console.log(JSON.stringify({ event: 'ready', ...peer.swarm.progress() }));
process.once('SIGTERM', () => void peer.close().then(() => process.exit(0)));
