// A model-package origin on 127.0.0.1:0 for tests and the swarm bench: serves a directory with
// single Range requests, counts the bytes it served per piece, can be throttled (one shared
// bytes/s budget, like an origin's uplink), can demand a bearer token, can live under a Hugging
// Face style prefix (`/org/repo/resolve/main/`), and can be told to fail or cut bodies short.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { open, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

export interface OriginServerOptions {
  readonly dir: string;
  /** For per-piece accounting (the manifest's pieceSize). */
  readonly pieceSize: number;
  readonly bytesPerSecond?: number;
  readonly token?: string;
  /** URL path prefix, e.g. `/org/model/resolve/main`. */
  readonly prefix?: string;
}

export interface OriginServer {
  /** Base URL to give an origin client. */
  readonly url: string;
  /** Bytes served per `file#piece` (`manifest.json#0` for whole small files). */
  readonly bytesByPiece: Map<string, number>;
  totalBytes(): number;
  requests: number;
  /** The next `n` requests answer `status` (default 503). */
  failNext(n: number, status?: number): void;
  /** The next `n` bodies are cut (socket destroyed) after `bytes` bytes. */
  cutNext(n: number, bytes: number): void;
  setRate(bytesPerSecond: number | undefined): void;
  close(): Promise<void>;
}

const CHUNK = 64 * 1024;

export async function startOriginServer(opts: OriginServerOptions): Promise<OriginServer> {
  const prefix = (opts.prefix ?? '').replace(/\/+$/, '');
  const bytesByPiece = new Map<string, number>();
  let failures = { n: 0, status: 503 };
  let cuts = { n: 0, bytes: 0 };
  let rate = opts.bytesPerSecond;
  let nextSendAt = 0; // shared token bucket: all responses together get `rate`

  const count = (file: string, from: number, n: number): void => {
    for (let at = from; at < from + n;) {
      const piece = Math.floor(at / opts.pieceSize);
      const end = Math.min(from + n, (piece + 1) * opts.pieceSize);
      const key = `${file}#${piece}`;
      bytesByPiece.set(key, (bytesByPiece.get(key) ?? 0) + (end - at));
      at = end;
    }
  };
  const pace = async (n: number): Promise<void> => {
    if (!rate) return;
    const now = performance.now();
    const at = Math.max(now, nextSendAt);
    nextSendAt = at + (n / rate) * 1000;
    if (at - now >= 1) await new Promise((r) => setTimeout(r, at - now));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // CORS, so browser pages on another port can read ranges (as from a real CDN / Hugging Face).
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('access-control-expose-headers', 'content-range, content-length, accept-ranges');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { 'access-control-allow-headers': 'range, authorization', 'access-control-allow-methods': 'GET' }).end();
      return;
    }
    server.requests++;
    if (failures.n > 0) {
      failures.n--;
      res.writeHead(failures.status).end();
      return;
    }
    if (opts.token && req.headers.authorization !== `Bearer ${opts.token}`) {
      res.writeHead(401).end();
      return;
    }
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (!path.startsWith(`${prefix}/`)) {
      res.writeHead(404).end();
      return;
    }
    const file = normalize(path.slice(prefix.length + 1));
    if (file.startsWith('..')) {
      res.writeHead(403).end();
      return;
    }
    const full = join(opts.dir, file);
    const size = await stat(full).then(
      (s) => (s.isFile() ? s.size : -1),
      () => -1,
    );
    if (size < 0) {
      res.writeHead(404).end();
      return;
    }
    let start = 0;
    let end = size - 1;
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (req.headers.range && !m) {
      res.writeHead(416).end();
      return;
    }
    if (m) {
      start = Number(m[1]);
      end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
      if (start > end) {
        res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
        return;
      }
      res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': end - start + 1, 'accept-ranges': 'bytes' });
    } else {
      res.writeHead(200, { 'content-length': size, 'accept-ranges': 'bytes' });
    }
    let cutAt = Number.POSITIVE_INFINITY;
    if (cuts.n > 0) {
      cuts.n--;
      cutAt = cuts.bytes;
    }
    const fh = await open(full, 'r');
    try {
      let sent = 0;
      for (let at = start; at <= end && !res.destroyed;) {
        const n = Math.min(CHUNK, end + 1 - at, cutAt - sent);
        if (n <= 0) {
          res.destroy(); // a broken connection mid-body
          return;
        }
        const buf = Buffer.allocUnsafe(n);
        await fh.read(buf, 0, n, at);
        await pace(n);
        if (res.destroyed) break;
        count(file, at, n);
        sent += n;
        at += n;
        if (!res.write(buf)) await new Promise((r) => res.once('drain', r));
      }
      res.end();
    } finally {
      await fh.close();
    }
  };

  const server = Object.assign(
    createServer((req, res) => {
      handle(req, res).catch(() => res.destroy());
    }),
    { requests: 0 },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const api: OriginServer = {
    url: `http://127.0.0.1:${port}${prefix}/`,
    bytesByPiece,
    totalBytes: () => [...bytesByPiece.values()].reduce((a, b) => a + b, 0),
    get requests() {
      return server.requests;
    },
    set requests(v) {
      server.requests = v;
    },
    failNext: (n, status = 503) => void (failures = { n, status }),
    cutNext: (n, bytes) => void (cuts = { n, bytes }),
    setRate: (r) => void (rate = r),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  return api;
}
