// Acceptance (item 2): Chromium opens the page served by `npm start`'s stack, contributes,
// receives layers, sends a chat message, sees streamed tokens, and saves screenshots under
// test-results/. Real processes (scripts/start.ts: signaling server + Node peer seeding the demo
// model), real WebRTC on loopback (run inside a network namespace), the engine in a Worker (WASM).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNpmStack, type NpmStartStack } from '../../util/npm-start-stack.ts';
import { makeTempDir } from '../../util/temp-dir.ts';
import { ensureWebBuild, launchWebRtcChromium } from '../../util/webrtc-chromium.ts';

const ROOT = join(import.meta.dirname, '../../..');
const SHOTS = join(ROOT, 'test-results');
const tmp = makeTempDir('app');
let stack: NpmStartStack;
let pageUrl: string;
let browser: Browser;
const problems: string[] = [];

beforeAll(async () => {
  ensureWebBuild();
  mkdirSync(SHOTS, { recursive: true });
  stack = await startNpmStack(tmp.dir);
  pageUrl = stack.pageUrl;
  browser = await launchWebRtcChromium();
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  tmp.cleanup();
});

function watch(page: Page): void {
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
}

describe('the web page from npm start', () => {
  it('contributes, receives layers, chats with streamed tokens, and shows the cache on return', async () => {
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    watch(page);
    await page.goto(pageUrl);
    expect(await page.locator('h1 + p').textContent()).toMatch(/language model/);
    await expect.poll(() => page.locator('[data-testid=detection]').textContent(), { timeout: 30_000 }).toMatch(/WASM|WebGPU/);
    // Before contributing, the tab is already a requester in the ring (chat enabled).
    await page.locator('[data-testid=chat-input]:not([disabled])').waitFor({ timeout: 60_000 });

    await page.locator('[data-testid=budget]').fill('256');
    await page.locator('[data-testid=budget]').dispatchEvent('change');
    await page.locator('[data-testid=contribute]').click();
    await page.locator('[data-testid=my-stage]').waitFor({ timeout: 90_000 });
    // The ring view highlights this tab's stage against the Node peer's.
    const background = (testId: string): Promise<string> =>
      page
        .locator(`[data-testid=${testId}]`)
        .first()
        .evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(await page.locator('[data-testid=my-stage]').textContent()).toMatch(/this tab \d+–\d+/);
    // Latency-aware placement: a tab that can hold the whole demo (256 MiB here) forms a replica ring
    // of its own beside the Node peer's; any other stage drawn in its ring is told apart.
    if ((await page.locator('[data-testid=stage]').count()) > 0) expect(await background('my-stage')).not.toBe(await background('stage'));
    await expect.poll(() => page.locator('[data-testid=layers]').textContent(), { timeout: 120_000 }).toMatch(/\(loaded\)/);
    const layers = (await page.locator('[data-testid=layers]').textContent()) ?? '';
    expect(layers).toMatch(/^\d+–\d+ \(loaded\)$/);
    // Piece progress is shown split by source (cache / peers / origin), all of this tab's units held.
    const pieces = (await page.locator('[data-testid=pieces]').textContent()) ?? '';
    const done = /([\d.]+) \/ ([\d.]+) MB — cache [\d.]+, peers [\d.]+, origin [\d.]+/.exec(pieces);
    expect(done?.[1]).toBe(done?.[2]);
    // The member list shows this tab's link to the Node peer: its round trip (PINGs go every 5 s)
    // and, when pieces came over it, their throughput (docs/ring.md, "Measured links").
    const nodeMember = page.locator('[data-testid=member]', { hasText: /^node / });
    await expect.poll(() => nodeMember.first().textContent(), { timeout: 30_000 }).toMatch(/ · rtt [\d.]+ ms/);
    if (Number(/peers ([\d.]+)/.exec(pieces)?.[1]) > 0) expect(await nodeMember.first().textContent()).toMatch(/ · pieces [\d.]+ MB\/s/);
    await page.locator('[data-testid=chat-input]:not([disabled])').waitFor({ timeout: 60_000 });

    await page.locator('[data-testid=chat-input]').fill('Hello ring');
    await page.locator('[data-testid=chat-send]').click();
    const reply = page.locator('[data-testid=turn-assistant]').last();
    // Streamed: the reply is seen growing while it is still marked streaming.
    const seen = new Set<string>();
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const streaming = await reply.getAttribute('data-streaming');
      const text = (await reply.textContent()) ?? '';
      if (streaming === 'yes' && /tokens/.test(text)) seen.add(text);
      if (streaming === 'no') break;
      await page.waitForTimeout(20);
    }
    expect(await reply.getAttribute('data-streaming')).toBe('no');
    expect(await page.locator('[data-testid=chat-error]').count()).toBe(0);
    expect(seen.size).toBeGreaterThanOrEqual(2);
    expect(await reply.textContent()).toMatch(/64 tokens|\d+ tokens/);
    // This tab's stage served the reply's tokens.
    await expect.poll(() => page.locator('[data-testid=tokens]').textContent(), { timeout: 10_000 }).toMatch(/\(([1-9]\d*) tokens through this tab\)/);
    await page.screenshot({ path: join(SHOTS, 'app-chat.png'), fullPage: true });

    // Narrow screen: nothing overflows sideways.
    await page.setViewportSize({ width: 375, height: 800 });
    await page.waitForTimeout(200);
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1)).toBe(true);
    await page.screenshot({ path: join(SHOTS, 'app-narrow.png'), fullPage: true });

    // A returning visitor sees what this browser cached.
    await page.reload();
    await page.locator('[data-testid=cache-list]').waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-testid=cached-model]').first().textContent()).toMatch(/^demo-8x256-seed0 — [\d.]+ MB/);
    await expect.poll(() => page.locator('[data-testid=clear-cache]').isEnabled(), { timeout: 60_000 }).toBe(true);
    await page.locator('[data-testid=clear-cache]').click();
    await page.locator('[data-testid=cache-empty]').waitFor({ timeout: 30_000 });
    expect(problems).toEqual([]);
    await context.close();
  });
});
