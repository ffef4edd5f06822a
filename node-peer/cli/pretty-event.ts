// The human form of `node-peer start`'s events (--log-format pretty, the default on a terminal):
// one line each, `HH:MM:SS event  key=value …`, with sizes in KiB/MiB/GiB and long ids cut short.
// The JSON form (one object per line) stays the contract for logs and scripts (docs/operating.md).
import { InvalidArgumentError } from 'commander';
import { formatBytes } from './option-parsers.ts';

export type LogFormat = 'pretty' | 'json';
export const LOG_FORMATS = ['auto', 'pretty', 'json'] as const;
export type LogFormatRequest = (typeof LOG_FORMATS)[number];

/** `--log-format`: auto (pretty on a terminal, JSON otherwise), pretty or json. */
export function parseLogFormat(value: string): LogFormatRequest {
  const f = LOG_FORMATS.find((x) => x === value);
  if (f === undefined) throw new InvalidArgumentError(`"${value}" is not a log format: expected ${LOG_FORMATS.join(', ')}`);
  return f;
}

export const resolveLogFormat = (requested: LogFormatRequest, isTTY: boolean): LogFormat => (requested === 'auto' ? (isTTY ? 'pretty' : 'json') : requested);

const BYTE_KEYS = new Set(['bytesDone', 'bytesTotal', 'fromCache', 'fromPeers', 'fromOrigin']);
const LONG_ID = /^[0-9a-f]{40,}$/;

function value(key: string, v: unknown): string {
  if (typeof v === 'number' && (BYTE_KEYS.has(key) || key.endsWith('Bytes'))) return formatBytes(v);
  if (typeof v === 'string') {
    if (LONG_ID.test(v)) return `${v.slice(0, 12)}…`;
    return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  }
  return JSON.stringify(v) ?? String(v);
}

const clock = (t: number): string => new Date(t).toTimeString().slice(0, 8);

/** Piece progress in words: `12.0 MiB / 24.0 MiB (50%) — cache 0 B, peers 12.0 MiB, origin 0 B`. */
function progressText(d: Record<string, unknown>): string | null {
  const { bytesDone, bytesTotal, fromCache, fromPeers, fromOrigin } = d;
  if (typeof bytesDone !== 'number' || typeof bytesTotal !== 'number') return null;
  const pct = bytesTotal > 0 ? Math.floor((100 * bytesDone) / bytesTotal) : 100;
  const src = (label: string, n: unknown): string => `${label} ${typeof n === 'number' ? formatBytes(n) : '?'}`;
  return `${formatBytes(bytesDone)} / ${formatBytes(bytesTotal)} (${pct}%) — ${src('cache', fromCache)}, ${src('peers', fromPeers)}, ${src('origin', fromOrigin)}`;
}

const PROGRESS_KEYS = new Set(['bytesDone', 'bytesTotal', 'fromCache', 'fromPeers', 'fromOrigin']);

/** One human line (no newline) for event `name` with `data`, at time `t` (ms since the epoch). */
export function formatEvent(name: string, data: Record<string, unknown>, t: number): string {
  const progress = progressText(data);
  const fields = Object.entries(data)
    .filter(([k, v]) => v !== undefined && !(progress !== null && PROGRESS_KEYS.has(k)))
    .map(([k, v]) => `${k}=${value(k, v)}`);
  const parts = [clock(t), name.padEnd(12), ...(progress === null ? [] : [progress]), ...fields];
  return parts.join(' ').trimEnd();
}
