import { Presets, SingleBar } from 'cli-progress';
import type { SwarmProgress } from '../../shared/pieces/progress.ts';
import type { NodePeerStatus } from '../peer/node-peer-types.ts';
import { formatEvent, type LogFormat } from './pretty-event.ts';

const MB = 1024 * 1024;

export interface StartReporter {
  /** A named event: a human line (pretty) or a JSON line (json). */
  event(name: string, data: Record<string, unknown>): void;
  /** Piece progress from the swarm (legacy pieces-only mode). */
  progress(p: SwarmProgress): void;
  /** Piece progress from the runtime's status; `ready` once every wanted byte is verified. */
  pieces(modelId: string, s: NodePeerStatus): void;
  stop(): void;
}

export interface StartReporterOptions {
  /** pretty: human lines (and a download bar on a terminal); json: one JSON object per line. */
  readonly format: LogFormat;
  /** Progress lines at most this often, ms (default 500). */
  readonly intervalMs?: number;
}

// cli-progress fills {total} and {value} itself (the bar's raw numbers), so the payload's names are its own.
const BAR_FORMAT = 'model {model} [{bar}] {percentage}% | {doneMB}/{totalMB} MB | cache {cacheMB} peers {peersMB} origin {originMB} MB';

interface Progress {
  modelId: string;
  bytesDone: number;
  bytesTotal: number;
  fromCache: number;
  fromPeers: number;
  fromOrigin: number;
}

const mb = (n: number): string => (n / MB).toFixed(1);
const barPayload = (p: Progress): Record<string, string> => ({
  model: p.modelId.slice(0, 8),
  doneMB: mb(p.bytesDone),
  totalMB: mb(p.bytesTotal),
  cacheMB: mb(p.fromCache),
  peersMB: mb(p.fromPeers),
  originMB: mb(p.fromOrigin),
});

/**
 * What `node-peer start` prints: pretty, one human line per event, with a download bar
 * (cli-progress) on a terminal; or json, one object per line (`{t, event, …}`) for logs, scripts
 * and tests. Progress lines come at most every `intervalMs`.
 */
export function createStartReporter(out: NodeJS.WriteStream, o: StartReporterOptions): StartReporter {
  const intervalMs = o.intervalMs ?? 500;
  // Whoever read the output went away (a closed pipe): keep running quietly rather than crash on EPIPE.
  out.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
  });
  const bar = o.format === 'pretty' && out.isTTY === true ? new SingleBar({ format: BAR_FORMAT, hideCursor: true, stream: out }, Presets.shades_classic) : null;
  let barOn = false;
  let last = 0;
  let readySent = false;
  const line = (name: string, data: Record<string, unknown>): void => {
    const t = Date.now();
    out.write(o.format === 'json' ? `${JSON.stringify({ t, event: name, ...data })}\n` : `${formatEvent(name, data, t)}\n`);
  };
  const show = (p: Progress, extra: Record<string, unknown>): void => {
    if (bar !== null) {
      if (!barOn) bar.start(Math.max(1, p.bytesTotal), p.bytesDone, barPayload(p));
      else bar.update(p.bytesDone, barPayload(p));
      barOn = true;
      return;
    }
    const now = Date.now();
    if (now - last < intervalMs && p.bytesDone !== p.bytesTotal) return;
    last = now;
    line('progress', { ...p, ...extra });
  };
  const event = (name: string, data: Record<string, unknown>): void => {
    if (barOn) bar?.stop();
    barOn = false;
    line(name, data);
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
