// Chromium + a Vite dev server for the piece-layer browser tests (flags from docs/troubleshooting.md).
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';

export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

/** Serves the repository through Vite on 127.0.0.1 so test pages import TS sources directly. */
export async function startPageServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const server: ViteDevServer = await createServer({
    root: process.cwd(),
    configFile: false,
    logLevel: 'error',
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, watch: null },
    // Scan every test page up front so dependencies (simple-peer's CommonJS streamx, the engine
    // page's dynamically imported onnxruntime-web) are pre-bundled before the first load, not
    // discovered mid-test: on a fresh clone that invalidates the page's modules ("Failed to fetch
    // dynamically imported module").
    optimizeDeps: { entries: ['test/browser/*/fixtures/*.html', 'web-peer/engine/engine-worker.ts'], include: ['onnxruntime-web'] },
    cacheDir: 'node_modules/.vite-pieces-tests',
  });
  await server.listen();
  const addr = server.httpServer?.address();
  if (!addr || typeof addr === 'string') throw new Error('vite did not bind a port');
  return { url: `http://127.0.0.1:${addr.port}`, close: () => server.close() };
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

/** A profile directory kept across launches: IndexedDB survives reloads and restarts. */
export async function launchPersistent(profileDir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir, { executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}
