/** Serves the built web page (dist/web) as `(pathname) => Response`; never escapes its folder. */
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';

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

export async function serveStatic(dir: string, pathname: string, head: boolean): Promise<Response> {
  const root = resolve(dir);
  if (!(await isDirectory(root))) {
    return htmlPage(404, 'ringmesh: web page not built', `The page folder ${root} does not exist. Run <code>npm run build:web</code>, then reload.`);
  }
  let relative: string;
  try {
    relative = decodeURIComponent(pathname);
  } catch {
    return htmlPage(400, 'Bad request', 'The path is not valid percent-encoding.');
  }
  let file = join(root, normalize(relative));
  if (file !== root && !file.startsWith(root + sep)) return htmlPage(404, 'Not found', 'No such file.');
  if (await isDirectory(file)) file = join(file, 'index.html');
  let body: Buffer;
  try {
    body = await readFile(file);
  } catch {
    // Missing or unreadable: both are a plain 404 to the browser.
    return htmlPage(404, 'Not found', 'No such file.');
  }
  const type = TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
  return new Response(head ? null : new Uint8Array(body), { status: 200, headers: { 'content-type': type, 'content-length': String(body.length) } });
}

export function htmlPage(status: number, title: string, html: string): Response {
  const body = `<!doctype html><meta charset="utf-8"><title>${title}</title><h1>${title}</h1><p>${html}</p>\n`;
  return new Response(body, { status, headers: { 'content-type': 'text/html; charset=utf-8' } });
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
