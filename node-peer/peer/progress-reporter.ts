import { SingleBar, Presets } from 'cli-progress';
import type { SwarmProgress } from '../../shared/pieces/progress.ts';

const MB = 1024 * 1024;

/**
 * Shows swarm progress: a bar on a TTY, otherwise one JSON line per event (at most every
 * `intervalMs` for progress), which tests and log collectors parse.
 */
export function createProgressReporter(out: NodeJS.WriteStream, intervalMs = 500): {
  progress(p: SwarmProgress): void;
  event(name: string, data: Record<string, unknown>): void;
  stop(): void;
} {
  if (out.isTTY) {
    const bar = new SingleBar(
      { format: 'model {model} [{bar}] {percentage}% | {done}/{total} MB | cache {cache} peers {peers} origin {origin} MB | {n} peers', hideCursor: true },
      Presets.shades_classic,
    );
    let started = false;
    return {
      progress(p) {
        const payload = {
          model: p.modelId.slice(0, 8), done: (p.bytesDone / MB).toFixed(1), total: (p.bytesTotal / MB).toFixed(1),
          cache: (p.fromCache / MB).toFixed(1), peers: (p.fromPeers / MB).toFixed(1), origin: (p.fromOrigin / MB).toFixed(1), n: p.peers,
        };
        if (!started) bar.start(Math.max(1, p.piecesTotal), p.piecesDone, payload);
        else bar.update(p.piecesDone, payload);
        started = true;
      },
      event(name, data) {
        if (started) bar.stop();
        started = false;
        out.write(`${name}: ${JSON.stringify(data)}\n`);
      },
      stop: () => bar.stop(),
    };
  }
  let last = 0;
  const line = (o: Record<string, unknown>): void => void out.write(`${JSON.stringify({ t: Date.now(), ...o })}\n`);
  return {
    progress(p) {
      const now = Date.now();
      if (now - last < intervalMs && p.piecesDone !== p.piecesTotal) return;
      last = now;
      line({ event: 'progress', ...p });
    },
    event: (name, data) => line({ event: name, ...data }),
    stop: () => undefined,
  };
}
