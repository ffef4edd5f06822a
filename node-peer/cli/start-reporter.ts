import { Presets, SingleBar } from 'cli-progress';
import type { SwarmProgress } from '../../shared/pieces/progress.ts';
import type { NodePeerStatus } from '../peer/node-peer-types.ts';

const MB = 1024 * 1024;

export interface StartReporter {
  /** A named event: a line on a terminal, a JSON line otherwise. */
  event(name: string, data: Record<string, unknown>): void;
  /** Piece progress from the swarm (legacy pieces-only mode). */
  progress(p: SwarmProgress): void;
  /** Piece progress from the runtime's status; `ready` once every wanted byte is verified. */
  pieces(modelId: string, s: NodePeerStatus): void;
  stop(): void;
}

/**
 * What `node-peer start` prints: on a TTY a download bar (cli-progress) with cache / peers / origin
 * bytes, and events as lines; otherwise one JSON object per line (`{t, event, …}`) for logs and
 * tests, progress at most every `intervalMs`.
 */
export function createStartReporter(out: NodeJS.WriteStream, intervalMs = 500): StartReporter {
  const tty = out.isTTY === true;
  // Whoever read the output went away (a closed pipe): keep running quietly rather than crash on EPIPE.
  out.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
  });
  const bar = tty
    ? new SingleBar(
        { format: 'model {model} [{bar}] {percentage}% | {done}/{total} MB | cache {cache} peers {peers} origin {origin} MB', hideCursor: true, stream: out },
        Presets.shades_classic,
      )
    : null;
  let barOn = false;
  let last = 0;
  let readySent = false;
  const line = (o: Record<string, unknown>): void => void out.write(`${JSON.stringify({ t: Date.now(), ...o })}\n`);
  const show = (p: { modelId: string; bytesDone: number; bytesTotal: number; fromCache: number; fromPeers: number; fromOrigin: number }, extra: Record<string, unknown>): void => {
    if (bar !== null) {
      const payload = {
        model: p.modelId.slice(0, 8), done: (p.bytesDone / MB).toFixed(1), total: (p.bytesTotal / MB).toFixed(1),
        cache: (p.fromCache / MB).toFixed(1), peers: (p.fromPeers / MB).toFixed(1), origin: (p.fromOrigin / MB).toFixed(1),
      };
      if (!barOn) bar.start(Math.max(1, p.bytesTotal), p.bytesDone, payload);
      else bar.update(p.bytesDone, payload);
      barOn = true;
      return;
    }
    const now = Date.now();
    if (now - last < intervalMs && p.bytesDone !== p.bytesTotal) return;
    last = now;
    line({ event: 'progress', ...p, ...extra });
  };
  const event = (name: string, data: Record<string, unknown>): void => {
    if (bar === null) return line({ event: name, ...data });
    if (barOn) bar.stop();
    barOn = false;
    out.write(`${name}: ${JSON.stringify(data)}\n`);
  };
  return {
    event,
    progress: (p) => show(p, {}),
    pieces(modelId, s) {
      const p = { modelId, ...s.pieces };
      if (readySent || p.bytesTotal === 0) return;
      show(p, { peers: s.members - 1 });
      if (p.bytesDone >= p.bytesTotal) {
        readySent = true;
        event('ready', { ...p, layers: s.layers });
      }
    },
    stop: () => {
      if (barOn) bar?.stop();
      barOn = false;
    },
  };
}
