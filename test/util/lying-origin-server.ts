// An HTTP origin on 127.0.0.1:0 that serves one folder but answers Range requests wrongly, for
// tests of what an origin client does with answers that do not match the range it asked for.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/**
 * `ignores-range`: 200 and the whole file. `longer`: 206 from the right start, past the end asked.
 * `wrong-start`: 206 for bytes elsewhere in the file. `short`: 206 with the first half of what was
 * asked, every time.
 */
export type RangeLie = 'ignores-range' | 'longer' | 'wrong-start' | 'short';

export interface LyingOriginServer {
  /** Base URL of the folder. */
  readonly url: string;
  close(): Promise<void>;
}

export async function startLyingOriginServer(dir: string, lie: RangeLie): Promise<LyingOriginServer> {
  const server = createServer((req, res) => {
    const file = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).slice(1);
    readFile(join(dir, file)).then(
      (data) => {
        const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
        if (!m || lie === 'ignores-range') return void res.writeHead(200).end(data);
        const [start, end] = [Number(m[1]), Number(m[2])];
        const [from, to] =
          lie === 'longer' ? [start, end + 100] : lie === 'wrong-start' ? [start + 1, end + 1] : [start, start + Math.floor((end - start) / 2)];
        // No content-length: the body's own end is the only length the client sees.
        res.writeHead(206, { 'content-range': `bytes ${from}-${to}/${data.byteLength}` }).end(data.subarray(from, to + 1));
      },
      () => void res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
