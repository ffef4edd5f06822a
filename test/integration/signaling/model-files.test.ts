// Model packages under /models/ on the real ringmesh-signal process: byte ranges, HEAD, 416,
// If-Range, symlinks out of the folder, HttpOrigin against it, file handles closed after a client
// disconnects, and server memory flat while 8 clients download a 256 MiB file at once.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, open, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpOrigin } from '../../../node-peer/origin/http-origin.ts';
import { randomStream } from '../../util/pieces-package.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const MiB = 1024 * 1024;
const SMALL = 4 * MiB + 123; // not a multiple of the server's read chunk
const BIG = 256 * MiB;
const BIG_EDGE = MiB; // random head and tail; the middle is a hole, so the file costs 2 MiB of disk
const CLIENTS = 8;
/**
 * RSS the server may gain while 8 clients each stream the 256 MiB file (2 GiB in all): half of
 * one file, so reading any file whole fails it (that took 2.6 GiB). Measured: 20–45 MiB, mostly
 * chunks awaiting garbage collection.
 */
const RSS_BOUND = 128 * MiB;

let dir: string;
let child: ChildProcess;
let base: string;
let small: Uint8Array;
let bigHead: Uint8Array;
let bigTail: Uint8Array;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rm-models-'));
  const web = join(dir, 'web');
  await mkdir(join(web, 'models', 'm1', 'sub'), { recursive: true });
  await writeFile(join(web, 'index.html'), '<!doctype html><title>ringmesh</title>');
  small = randomStream('small', SMALL);
  await writeFile(join(web, 'models', 'm1', 'weights.bin'), small);
  bigHead = randomStream('head', BIG_EDGE);
  bigTail = randomStream('tail', BIG_EDGE);
  const big = await open(join(web, 'models', 'm1', 'big.bin'), 'w');
  await big.write(bigHead, 0, BIG_EDGE, 0);
  await big.write(bigTail, 0, BIG_EDGE, BIG - BIG_EDGE);
  await big.close();
  await writeFile(join(dir, 'secret.txt'), 'outside the folder');
  await symlink(join(dir, 'secret.txt'), join(web, 'models', 'm1', 'escape.txt'));
  await symlink(dir, join(web, 'models', 'm1', 'up'));
  await symlink(join(web, 'models', 'm1', 'weights.bin'), join(web, 'models', 'm1', 'sub', 'alias.bin'));

  child = spawn(process.execPath, [join(ROOT, 'bin', 'ringmesh-signal.js'), '--port', '0', '--log-level', 'warn', '--static-dir', web], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  base = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += String(d);
      const m = /^page (\S+)$/m.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`ringmesh-signal exited ${code}: ${out}`)));
  });
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }
  await rm(dir, { recursive: true, force: true });
});

const url = (path: string): string => new URL(path, base).href;
const get = (path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Response> => fetch(url(path), { method, headers });
const bytes = async (res: Response): Promise<Uint8Array> => new Uint8Array(await res.arrayBuffer());

describe('ranges of a model file', () => {
  it('serves bytes=a-b, a- and -n with 206 and the right bytes', async () => {
    for (const [range, start, end] of [
      ['bytes=0-0', 0, 0],
      ['bytes=1000-300000', 1000, 300_000],
      [`bytes=${SMALL - 5000}-`, SMALL - 5000, SMALL - 1],
      ['bytes=-70000', SMALL - 70_000, SMALL - 1],
      [`bytes=2000000-${SMALL * 2}`, 2_000_000, SMALL - 1],
    ] as const) {
      const res = await get('/models/m1/weights.bin', { range });
      expect(res.status, range).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/${SMALL}`);
      expect(res.headers.get('content-length')).toBe(String(end - start + 1));
      expect(res.headers.get('accept-ranges')).toBe('bytes');
      expect(Buffer.from(await bytes(res)).equals(Buffer.from(small.subarray(start, end + 1))), range).toBe(true);
    }
  });

  it('serves the whole file with 200 for no, malformed or multiple ranges', async () => {
    for (const headers of [{}, { range: 'bytes=5-1' }, { range: 'bytes=abc' }, { range: 'items=0-1' }, { range: 'bytes=0-1,10-20' }] as Array<
      Record<string, string>
    >) {
      const res = await get('/models/m1/weights.bin', headers);
      expect(res.status, JSON.stringify(headers)).toBe(200);
      expect(res.headers.get('content-length')).toBe(String(SMALL));
      expect(res.headers.get('content-range')).toBeNull();
      expect(Buffer.from(await bytes(res)).equals(Buffer.from(small))).toBe(true);
    }
  });

  it('answers 416 with bytes */size for a range past the end', async () => {
    for (const range of [`bytes=${SMALL}-`, 'bytes=-0', `bytes=${SMALL + 10}-${SMALL + 20}`]) {
      const res = await get('/models/m1/weights.bin', { range });
      expect(res.status, range).toBe(416);
      expect(res.headers.get('content-range')).toBe(`bytes */${SMALL}`);
      expect((await bytes(res)).length).toBe(0);
    }
  });

  it('answers HEAD with the GET headers and no body, ranged or not', async () => {
    const whole = await get('/models/m1/weights.bin', {}, 'HEAD');
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-length')).toBe(String(SMALL));
    expect(whole.headers.get('etag')).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    expect(Date.parse(whole.headers.get('last-modified') ?? '')).toBeGreaterThan(0);
    expect((await bytes(whole)).length).toBe(0);
    const part = await get('/models/m1/weights.bin', { range: 'bytes=10-19' }, 'HEAD');
    expect(part.status).toBe(206);
    expect(part.headers.get('content-length')).toBe('10');
    expect(part.headers.get('content-range')).toBe(`bytes 10-19/${SMALL}`);
    expect((await get('/models/m1/weights.bin', { range: `bytes=${SMALL}-` }, 'HEAD')).status).toBe(416);
  });

  it('honours If-Range: the current ETag keeps the range, a stale one gets the whole file', async () => {
    const etag = (await get('/models/m1/weights.bin', {}, 'HEAD')).headers.get('etag') ?? '';
    const same = await get('/models/m1/weights.bin', { range: 'bytes=0-9', 'if-range': etag });
    expect(same.status).toBe(206);
    expect((await bytes(same)).length).toBe(10);
    const stale = await get('/models/m1/weights.bin', { range: 'bytes=0-9', 'if-range': '"0-0"' });
    expect(stale.status).toBe(200);
    expect((await bytes(stale)).length).toBe(SMALL);
  });

  it('never follows a symlink out of the folder, but one inside it is served', async () => {
    expect((await get('/models/m1/escape.txt')).status).toBe(404);
    expect((await get('/models/m1/up/secret.txt')).status).toBe(404);
    expect((await get('/models/m1/%2e%2e/%2e%2e/%2e%2e/secret.txt')).status).toBe(404);
    const alias = await get('/models/m1/sub/alias.bin', { range: 'bytes=0-99' });
    expect(alias.status).toBe(206);
    expect(Buffer.from(await bytes(alias)).equals(Buffer.from(small.subarray(0, 100)))).toBe(true);
  });

  it('is a working origin for HttpOrigin (the Node peer reading a package with Range)', async () => {
    const origin = new HttpOrigin(url('/models/m1/'), { sleep: async () => undefined, backoffMs: 1 });
    const piece = await origin.read('weights.bin', { offset: 3 * MiB, length: MiB + 123 });
    expect(Buffer.from(piece).equals(Buffer.from(small.subarray(3 * MiB, 4 * MiB + 123)))).toBe(true);
    expect(Buffer.from(await origin.read('weights.bin')).equals(Buffer.from(small))).toBe(true);
    const tail = await origin.read('big.bin', { offset: BIG - BIG_EDGE, length: BIG_EDGE });
    expect(Buffer.from(tail).equals(Buffer.from(bigTail))).toBe(true);
  });
});

describe('streaming a 256 MiB file', () => {
  it('closes the file when a client disconnects mid-body', async () => {
    const res = await request(url('/models/m1/big.bin'));
    let got = 0;
    let openWhileStreaming = 0;
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      got += chunk.length;
      if (got >= 4 * MiB) {
        openWhileStreaming = await openHandlesTo('big.bin');
        break; // leaving the loop destroys the body: the connection is cut
      }
    }
    expect(got).toBeLessThan(BIG);
    expect(openWhileStreaming).toBe(1);
    // The server notices the reset and closes its handle; bounded wait for that to happen.
    const deadline = Date.now() + 10_000;
    let open = await openHandlesTo('big.bin');
    while (open > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      open = await openHandlesTo('big.bin');
    }
    expect(open).toBe(0);
  });

  it(`keeps server RSS within ${RSS_BOUND / MiB} MiB while ${CLIENTS} clients each download it`, async () => {
    await bytes(await get('/models/m1/big.bin', { range: 'bytes=0-1048575' })); // warm the code path
    const before = await rss();
    let peak = before;
    const sampler = setInterval(
      () =>
        void rss().then(
          (r) => (peak = Math.max(peak, r)),
          () => undefined,
        ),
      25,
    );
    const started = Date.now();
    try {
      const results = await Promise.all(Array.from({ length: CLIENTS }, () => download('/models/m1/big.bin')));
      for (const r of results) {
        expect(r.length).toBe(BIG);
        expect(Buffer.from(r.head).equals(Buffer.from(bigHead))).toBe(true);
        expect(Buffer.from(r.tail).equals(Buffer.from(bigTail))).toBe(true);
      }
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, await rss());
    console.log(`${CLIENTS} × 256 MiB in ${Date.now() - started} ms; server RSS ${(before / MiB).toFixed(0)} → peak ${(peak / MiB).toFixed(0)} MiB`);
    expect(peak - before).toBeLessThan(RSS_BOUND);
    expect(await openHandlesTo('big.bin')).toBe(0);
  });
});

/** The server's resident set in bytes (Linux /proc). */
async function rss(): Promise<number> {
  const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  return Number(kb) * 1024;
}

/** How many of the server's file descriptors point at a file named `name`. */
async function openHandlesTo(name: string): Promise<number> {
  const fdDir = `/proc/${child.pid}/fd`;
  let n = 0;
  for (const fd of await readdir(fdDir)) {
    const target = await readlink(join(fdDir, fd)).catch(() => '');
    if (target.endsWith(`/${name}`)) n++;
  }
  return n;
}

/** Streams a file, keeping only its length and its first and last MiB. */
async function download(path: string): Promise<{ length: number; head: Uint8Array; tail: Uint8Array }> {
  const res = await request(url(path));
  expect(res.statusCode).toBe(200);
  let length = 0;
  const head: Uint8Array[] = [];
  let headBytes = 0;
  const tail: Uint8Array[] = [];
  let tailBytes = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    length += chunk.length;
    if (headBytes < BIG_EDGE) {
      head.push(chunk.subarray(0, BIG_EDGE - headBytes));
      headBytes += Math.min(chunk.length, BIG_EDGE - headBytes);
    }
    tail.push(chunk);
    tailBytes += chunk.length;
    while (tail.length > 1 && tailBytes - (tail[0]?.length ?? 0) >= BIG_EDGE) tailBytes -= tail.shift()?.length ?? 0;
  }
  const tailAll = Buffer.concat(tail);
  return { length, head: Buffer.concat(head), tail: tailAll.subarray(tailAll.length - BIG_EDGE) };
}
