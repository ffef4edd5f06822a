import { InvalidArgumentError, type Command } from 'commander';
import { RingmeshError } from '../../shared/errors.ts';
import { startPiecePeer } from '../peer/piece-peer.ts';
import { createProgressReporter } from '../peer/progress-reporter.ts';

interface StartOptions {
  signal: string;
  model: string;
  origin?: string;
  originToken?: string;
  joinToken?: string;
  replica?: 'full';
  cacheDir: string;
  layers?: { start: number; end: number };
  bindAddress?: string;
}

function parseReplica(v: string): 'full' {
  if (v !== 'full') throw new InvalidArgumentError('only "full" is supported');
  return v;
}

function parseLayers(v: string): { start: number; end: number } {
  const m = /^(\d+):(\d+)$/.exec(v);
  if (!m || Number(m[1]) >= Number(m[2])) throw new InvalidArgumentError('expected start:end with start < end, e.g. 0:8');
  return { start: Number(m[1]), end: Number(m[2]) };
}

/**
 * `node-peer start`: join the model's room and swarm its pieces (issue 4). Keeps serving until
 * SIGINT/SIGTERM. The ring and the API attach here in later issues.
 */
export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('join a swarm: get the model pieces this peer needs (from cache, peers, origin) and serve them to others')
    .requiredOption('--signal <url>', 'signaling server, ws(s)://host:port/signal')
    .requiredOption('--model <dir|url|id>', 'a local package directory, an http(s) package base URL, or a model id (hex sha256)')
    .option('--origin <url|dir>', 'where pieces no peer has come from (http(s) base URL, Hugging Face …/resolve/<rev>/ URL, or directory)')
    .option('--origin-token <token>', 'bearer token for the origin (or env RINGMESH_ORIGIN_TOKEN)')
    .option('--join-token <token>', 'signaling join token, when the server requires one')
    .option('--replica <mode>', '"full": fetch and keep every unit, whatever the partition', parseReplica)
    .option('--layers <a:b>', 'this peer\'s layer range (default: all layers)', parseLayers)
    .option('--cache-dir <dir>', 'piece cache directory', process.env.RINGMESH_CACHE_DIR ?? '.ringmesh-cache')
    .option('--bind-address <ip>', 'local address for WebRTC (127.0.0.1 on loopback-only hosts)')
    .action(async (o: StartOptions) => {
      const report = createProgressReporter(process.stdout);
      try {
        const peer = await startPiecePeer({
          signalUrl: o.signal,
          model: o.model,
          cacheDir: o.cacheDir,
          replicaFull: o.replica === 'full',
          ...(o.origin ? { origin: o.origin } : {}),
          ...((o.originToken ?? process.env.RINGMESH_ORIGIN_TOKEN) ? { originToken: o.originToken ?? process.env.RINGMESH_ORIGIN_TOKEN } : {}),
          ...(o.joinToken ? { joinToken: o.joinToken } : {}),
          ...(o.layers ? { layers: o.layers } : {}),
          ...(o.bindAddress ? { bindAddress: o.bindAddress } : {}),
          onCorrupt: (err) => report.event('corrupt-piece', { name: err.name, hash: err.hash, message: err.message }),
        });
        report.event('joined', { modelId: peer.modelId, peerId: peer.signaling.peerId });
        peer.swarm.on('progress', (p) => report.progress(p));
        peer.swarm.on('peer-dropped', (e) => report.event('peer-dropped', { peer: e.peer, message: e.message }));
        peer.swarm.on('origin-failed', (e) => report.event('origin-failed', { name: e.name, message: e.message }));
        const stop = async (): Promise<void> => {
          report.stop();
          await peer.close();
          process.exit(0);
        };
        process.once('SIGINT', () => void stop());
        process.once('SIGTERM', () => void stop());
        const manifest = await peer.swarm.ready;
        report.event('ready', { units: manifest.units.length, ...peer.swarm.progress() });
      } catch (err) {
        report.stop();
        // The CLI edge: typed errors become one clear line and exit code 1.
        if (!(err instanceof RingmeshError)) throw err;
        process.stderr.write(`error: ${err.name}: ${err.message}\n`);
        process.exit(1);
      }
    });
}
