// The Vite dev server the browser ring tests load their ring page from (loopback, no HMR).
import { createServer, type ViteDevServer } from 'vite';

export interface RingPageServer {
  readonly vite: ViteDevServer;
  /** URL of the ring page; append `?…` with its query. */
  readonly pageUrl: string;
}

/** `host`: the address it listens on and the page URL names (default 127.0.0.1). */
export async function startRingPageServer(host = '127.0.0.1'): Promise<RingPageServer> {
  const vite = await createServer({
    root: process.cwd(),
    configFile: false,
    logLevel: 'error',
    server: { host, port: 0, strictPort: false, hmr: false, watch: null },
    define: { global: 'globalThis' },
    // The page's engine Worker is not crawled from the HTML: name it, so its imports (onnxruntime-web)
    // are pre-bundled at start and a fresh clone never re-optimizes under a loaded page.
    optimizeDeps: { entries: ['test/browser/ring/fixtures/*.html', 'web-peer/engine/engine-worker.ts'], include: ['onnxruntime-web'] },
    cacheDir: 'node_modules/.vite-ring-tests',
  });
  await vite.listen();
  const addr = vite.httpServer?.address();
  if (!addr || typeof addr === 'string') throw new Error('vite did not bind a port');
  return { vite, pageUrl: `http://${host}:${addr.port}/test/browser/ring/fixtures/ring-page.html` };
}
