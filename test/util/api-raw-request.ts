// One HTTP request over node:http where the test picks what fetch will not let it: the Host header,
// and a large body sent as Content-Length or chunked, written with backpressure (never buffered).
import { request as httpRequest } from 'node:http';

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

export interface RawBody {
  readonly bytes: number;
  /** Chunked transfer encoding instead of a Content-Length. */
  readonly chunked: boolean;
}

export function rawRequest(port: number, method: string, path: string, headers: Record<string, string>, body?: RawBody): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const len = body && !body.chunked ? { 'content-length': String(body.bytes) } : {};
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: { ...headers, ...len } });
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      res.on('error', reject);
    });
    // Writing on after the server refused the body may end in a reset; the answer came first.
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    if (body === undefined) return void req.end();
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const pump = (): void => {
      while (sent < body.bytes && !req.destroyed && !answered) {
        const n = Math.min(chunk.length, body.bytes - sent);
        sent += n;
        if (!req.write(chunk.subarray(0, n))) return void req.once('drain', pump);
      }
      if (!req.destroyed) req.end();
    };
    pump();
  });
}
