import { InvalidArgumentError } from 'commander';
import { MAX_LINK_MTU, MIN_LINK_MTU } from '../../shared/transport/signal-envelope.ts';
import { DEVICE_REQUESTS, type DeviceRequest } from '../engine/device-choice.ts';
import type { KvDtype } from '../../shared/graph/build-stage-graph.ts';

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kib: 1024,
  kb: 1000,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  mb: 1000 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  gb: 1000 ** 3,
  t: 1024 ** 4,
  tib: 1024 ** 4,
  tb: 1000 ** 4,
};

/** "8GiB", "512MiB", "1.5GB", "4g", "1073741824" → bytes. KiB/MiB/GiB and bare K/M/G are powers of 1024; KB/MB/GB of 1000. */
export function parseByteSize(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  const unit = m ? UNITS[(m[2] ?? '').toLowerCase()] : undefined;
  if (!m || unit === undefined)
    throw new InvalidArgumentError(`"${value}" is not a size: expected a number with an optional unit, e.g. 8GiB, 512MiB, 1.5GB or 1073741824`);
  const bytes = Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes)) throw new InvalidArgumentError(`"${value}" is too large`);
  return bytes;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError(`"${value}" is not a TCP port: expected an integer from 0 (any free port) to 65535`);
  return n;
}

export function parseSignalUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`"${value}" is not a URL: expected ws://host:port/signal or wss://host/signal`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:')
    throw new InvalidArgumentError(`"${value}" must start with ws:// or wss:// (the signaling server's WebSocket endpoint, e.g. ws://127.0.0.1:8787/signal)`);
  return value;
}

export function parseIceServer(value: string, previous: string[] | undefined): string[] {
  if (!/^(stun|turns?):[^\s]+$/.test(value)) {
    throw new InvalidArgumentError(`"${value}" is not an ICE server URL: expected stun:host:port, or turn:user:password@host:port / turns:… for TURN`);
  }
  if (value.startsWith('turn') && !value.includes('@')) {
    throw new InvalidArgumentError(`"${value}" has no credentials: TURN needs turn:user:password@host:port (or turns:…)`);
  }
  return [...(previous ?? []), value];
}

/** An ICE server as WebRTC takes it: TURN credentials moved out of the URL. */
export interface IceServerConfig {
  readonly urls: string;
  readonly username?: string;
  readonly credential?: string;
}

/** `turn:user:password@host:port` → `{urls: 'turn:host:port', username, credential}` (parts URL-decoded); STUN URLs as they are. */
export function toIceServer(url: string): IceServerConfig {
  const m = /^(turns?):([^:@]+):([^@]*)@(.+)$/.exec(url);
  if (!m) return { urls: url };
  return { urls: `${m[1]!}:${m[4]!}`, username: decodeURIComponent(m[2]!), credential: decodeURIComponent(m[3]!) };
}

export function parseThreads(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new InvalidArgumentError(`"${value}" is not a thread count: expected an integer ≥ 1`);
  return n;
}

export function parseLinkMtu(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < MIN_LINK_MTU || n > MAX_LINK_MTU)
    throw new InvalidArgumentError(`"${value}" is not a link MTU: expected an integer from ${MIN_LINK_MTU} to ${MAX_LINK_MTU}`);
  return n;
}

export function parseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`"${value}" is not a duration: expected seconds ≥ 0`);
  return n;
}

/** `on` / `off` (also true/false, 1/0, yes/no, as environment variables tend to say). */
export function parseOnOff(value: string): boolean {
  const v = value.trim().toLowerCase();
  if (['on', 'true', '1', 'yes'].includes(v)) return true;
  if (['off', 'false', '0', 'no'].includes(v)) return false;
  throw new InvalidArgumentError(`"${value}" is not on or off`);
}

/** `--cors-origin`: a web origin, `scheme://host[:port]` (repeatable; a comma list too, as the env var gives it). */
export function parseCorsOrigins(value: string, previous: string[] | undefined): string[] {
  const out = [...(previous ?? [])];
  for (const v of value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    let url: URL | null = null;
    try {
      url = new URL(v);
    } catch {
      // reported below
    }
    if (url === null || url.origin === 'null' || (url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '' || url.username !== '') {
      throw new InvalidArgumentError(`"${v}" is not a web origin: expected scheme://host[:port] with no path, e.g. http://localhost:5173`);
    }
    out.push(url.origin); // the serialized form browsers send (lower-case host, no default port)
  }
  return out;
}

/** `--api-public-host`: a host name (or address) clients use to reach the API (repeatable; a comma list too). */
export function parsePublicHosts(value: string, previous: string[] | undefined): string[] {
  const out = [...(previous ?? [])];
  for (const v of value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*|[A-Za-z0-9.-]+)$/.test(v)) {
      throw new InvalidArgumentError(`"${v}" is not a host name: expected e.g. llm.example.org or 192.0.2.5 (no scheme, no port)`);
    }
    out.push(v.toLowerCase());
  }
  return out;
}

/** `--api-max-concurrent`: generations at once, 1–1024. */
export function parseMaxConcurrent(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > 1024)
    throw new InvalidArgumentError(`"${value}" is not a generation count: expected an integer from 1 to 1024`);
  return n;
}

/** `--api-max-body`: a size (parseByteSize) of at least 1 KiB. */
export function parseMaxBody(value: string): number {
  const n = parseByteSize(value);
  if (n < 1024) throw new InvalidArgumentError(`"${value}" is too small for a request body limit: expected at least 1KiB`);
  return n;
}

/** `--api-key`: non-empty, no whitespace (it travels in an Authorization header). */
export function parseApiKey(value: string): string {
  if (value.length === 0 || /\s/.test(value)) throw new InvalidArgumentError('an API key must be non-empty and have no spaces');
  return value;
}

/** `--device`: auto, cpu, cuda or webgpu (node-peer/engine/device-choice.ts). */
export function parseDevice(value: string): DeviceRequest {
  const v = value.trim().toLowerCase();
  const known = DEVICE_REQUESTS.find((d) => d === v);
  if (known === undefined) throw new InvalidArgumentError(`"${value}" is not a device: expected ${DEVICE_REQUESTS.join(', ')}`);
  return known;
}

const KV_DTYPES: readonly KvDtype[] = ['fp32', 'fp16'];

/** `--kv-dtype`: fp32 or fp16, the element type of the stage's KV cache (docs/engines.md). */
export function parseKvDtype(value: string): KvDtype {
  const v = value.trim().toLowerCase();
  const known = KV_DTYPES.find((d) => d === v);
  if (known === undefined) throw new InvalidArgumentError(`"${value}" is not a KV cache type: expected ${KV_DTYPES.join(' or ')}`);
  return known;
}
