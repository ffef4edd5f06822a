/**
 * Serves a folder (the built page, and model packages under /models/) as `(pathname) => Response`.
 * Files are streamed (file-body.ts), never read whole, and single byte ranges are honoured
 * (byte-range.ts), so a gigabyte package costs a chunk of memory per download. Never leaves its
 * folder: `..` is cut by the path check and symlinks are resolved with realpath, so a link that
 * points outside the folder is a 404 (docs/signaling.md, "Static files and model packages").
 */
import { constants } from 'node:fs';
import { open, realpath, stat, type FileHandle } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { RingmeshError } from '../shared/errors.ts';
import { decideRange, fileEtag, ifRangeMatches } from './byte-range.ts';
import { fileBody } from './file-body.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** The parts of a request a static answer depends on. */
export interface StaticRequest {
  readonly head: boolean;
  /** `Range` header, null when absent. */
  readonly range: string | null;
  /** `If-Range` header, null when absent. */
  readonly ifRange: string | null;
}

// No symlink as the last component (the path was already resolved) and no blocking on a FIFO
// swapped in after the check; both flags are absent on Windows.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

/**
 * The answer for `pathname` under `dir`. A GET's body holds an open file until it is read to the
 * end or cancelled: a caller that drops the Response unread must cancel its body.
 */
export async function serveStatic(dir: string, pathname: string, request: StaticRequest): Promise<Response> {
  const root = await folderRoot(dir);
  if (root === undefined) {
    return htmlPage(404, 'ringmesh: web page not built', `The page folder ${resolve(dir)} does not exist. Run <code>npm run build:web</code>, then reload.`);
  }
  let relative: string;
  try {
    relative = decodeURIComponent(pathname);
  } catch {
    return htmlPage(400, 'Bad request', 'The path is not valid percent-encoding.');
  }
  const file = await resolveInside(root, join(root, normalize(relative)));
  if (file === undefined) return notFound();
  let handle: FileHandle | undefined;
  try {
    // HEAD needs no open file; a GET reads size and date from the handle it will stream from.
    if (!request.head) handle = await open(file, OPEN_FLAGS);
    const info = handle ? await handle.stat({ bigint: true }) : await stat(file, { bigint: true });
    if (!info.isFile()) throw new NotARegularFileError(file);
    const response = answer(file, Number(info.size), info.mtimeNs, request, handle);
    handle = undefined; // owned by the response body now, or closed by answer()
    return response;
  } catch {
    // Missing, unreadable or not a file: all a plain 404 to the browser.
    await handle?.close().catch(() => undefined);
    return notFound();
  }
}

/** The real path of the served folder; undefined when it is missing or not a folder. */
async function folderRoot(dir: string): Promise<string | undefined> {
  try {
    const root = await realpath(resolve(dir));
    return (await stat(root)).isDirectory() ? root : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The path names a device, FIFO or socket (swapped in after the path check, or planted). Internal:
 * `serveStatic` catches it with every other open/stat failure and answers a plain 404.
 */
class NotARegularFileError extends RingmeshError {
  constructor(readonly path: string) {
    super(`${path} is not a regular file`);
  }
}

/**
 * The real path of `candidate` (its index.html for a folder) when it lies inside `root`,
 * else undefined: `..` and symlinks leading out of the folder are refused alike.
 */
async function resolveInside(root: string, candidate: string): Promise<string | undefined> {
  const inside = (path: string): boolean => path === root || path.startsWith(root + sep);
  if (!inside(candidate)) return undefined;
  try {
    let real = await realpath(candidate);
    if (!inside(real)) return undefined;
    if ((await stat(real)).isDirectory()) {
      real = await realpath(join(real, 'index.html'));
      if (!inside(real)) return undefined;
    }
    return real;
  } catch {
    return undefined;
  }
}

function answer(file: string, size: number, mtimeNs: bigint, request: StaticRequest, handle: FileHandle | undefined): Response {
  const etag = fileEtag(size, mtimeNs);
  const lastModified = new Date(Number(mtimeNs / 1_000_000n)).toUTCString();
  const headers: Record<string, string> = {
    'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
    'accept-ranges': 'bytes',
    etag,
    'last-modified': lastModified,
  };
  // A Range for a file that changed since the client's partial copy is ignored: whole new file.
  const decision = ifRangeMatches(request.ifRange, etag, lastModified) ? decideRange(request.range, size) : ({ kind: 'whole', reason: 'absent' } as const);
  if (decision.kind === 'unsatisfiable') {
    void handle?.close().catch(() => undefined);
    return new Response(null, { status: 416, headers: { ...headers, 'content-range': `bytes */${size}`, 'content-length': '0' } });
  }
  const [status, start, end] = decision.kind === 'partial' ? [206, decision.start, decision.end] : [200, 0, size - 1];
  if (status === 206) headers['content-range'] = `bytes ${start}-${end}/${size}`;
  headers['content-length'] = String(end - start + 1);
  if (!handle || end < start) {
    void handle?.close().catch(() => undefined);
    return new Response(null, { status, headers });
  }
  return new Response(fileBody(handle, start, end), { status, headers });
}

function notFound(): Response {
  return htmlPage(404, 'Not found', 'No such file.');
}

export function htmlPage(status: number, title: string, html: string): Response {
  const body = `<!doctype html><meta charset="utf-8"><title>${title}</title><h1>${title}</h1><p>${html}</p>\n`;
  return new Response(body, { status, headers: { 'content-type': 'text/html; charset=utf-8' } });
}
