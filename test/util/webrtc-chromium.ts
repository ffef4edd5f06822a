// Headless Chromium for WebRTC tests, with the flags docs/troubleshooting.md found necessary (both
// WebRTC flags are needed for loopback candidates), and the built page (dist/web) kept fresh.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { newestMtime } from '../../scripts/newest-mtime.ts';

export const WEBRTC_CHROMIUM_ARGS = [
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

export function launchWebRtcChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: WEBRTC_CHROMIUM_ARGS });
}

/** Runs `vite build` when dist/web is missing or older than any source the page bundles. */
export function ensureWebBuild(): void {
  const index = join('dist', 'web', 'index.html');
  const built = existsSync(index) ? statSync(index).mtimeMs : 0;
  const sources = Math.max(newestMtime('web-peer'), newestMtime('shared'));
  if (built >= sources) return;
  execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn'], { stdio: 'inherit', timeout: 180_000 });
}

/** Opens the page served by the signaling server and waits until it has a peer id. */
export async function openPeerPage(browser: Browser, httpUrl: string, query: string): Promise<{ page: Page; peerId: string }> {
  const page = await browser.newPage();
  page.on('pageerror', (err) => console.error(`[page] ${err.message}`));
  await page.goto(`${httpUrl}?${query}`);
  const handle = await page.waitForFunction(() => window.ringmesh?.peerId(), undefined, { timeout: 30_000 });
  return { page, peerId: (await handle.jsonValue()) as string };
}
