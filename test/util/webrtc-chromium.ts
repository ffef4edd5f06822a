// Headless Chromium for WebRTC tests, with the flags docs/troubleshooting.md found necessary (both
// WebRTC flags are needed for loopback candidates), and the built pages kept fresh: the shipped one
// (dist/web) and the one with its test hooks (dist/web-test: `window.ringmesh`, the bare lobby).
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { newestMtime } from '../../scripts/newest-mtime.ts';
import { CHROMIUM_ARGS } from './pieces-browser.ts';

export const WEBRTC_CHROMIUM_ARGS = CHROMIUM_ARGS;

export function launchWebRtcChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: WEBRTC_CHROMIUM_ARGS });
}

/** The shipped page (`vite build`). */
export const WEB_DIR = resolve('dist', 'web');
/** The page with its test hooks (`vite build --mode test`); serve it with `startSignalingProcess({ staticDir })`. */
export const TEST_WEB_DIR = resolve('dist', 'web-test');

/** Runs `vite build` when dist/web is missing or older than any source the page bundles. */
export function ensureWebBuild(): void {
  ensureBuild(WEB_DIR, []);
}

/** Runs `vite build --mode test` when dist/web-test is stale; returns that folder. */
export function ensureTestWebBuild(): string {
  ensureBuild(TEST_WEB_DIR, ['--mode', 'test']);
  return TEST_WEB_DIR;
}

function ensureBuild(outDir: string, args: readonly string[]): void {
  const index = join(outDir, 'index.html');
  const built = existsSync(index) ? statSync(index).mtimeMs : 0;
  const sources = Math.max(newestMtime('web-peer'), newestMtime('shared'), statSync('vite.config.ts').mtimeMs);
  if (built >= sources) return;
  execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', ...args, '--logLevel', 'warn'], { stdio: 'inherit', timeout: 180_000 });
}

/** Opens the test page (dist/web-test) served by the signaling server and waits until it has a peer id. */
export async function openPeerPage(browser: Browser, httpUrl: string, query: string): Promise<{ page: Page; peerId: string }> {
  const page = await browser.newPage();
  page.on('pageerror', (err) => console.error(`[page] ${err.message}`));
  await page.goto(`${httpUrl}?${query}`);
  const handle = await page.waitForFunction(() => window.ringmesh?.peerId(), undefined, { timeout: 30_000 });
  return { page, peerId: (await handle.jsonValue()) as string };
}
