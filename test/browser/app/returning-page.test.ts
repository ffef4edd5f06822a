// What a visitor's cache looks like (docs/web-page.md, "Storage"): a fresh profile that joined the
// room says nothing is cached and cannot clear anything; after contributing, the same profile in a
// restarted browser shows the pieces it kept as cache. Real processes (scripts/start.ts: signaling
// server + a Node peer seeding the demo model), real WebRTC on loopback (run inside a network
// namespace), Chromium with a persistent profile (IndexedDB survives the restart).
import type { BrowserContext, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNpmStack, type NpmStartStack } from '../../util/npm-start-stack.ts';
import { makeTempDir } from '../../util/temp-dir.ts';
import { ensureWebBuild, WEBRTC_CHROMIUM_ARGS } from '../../util/webrtc-chromium.ts';

const tmp = makeTempDir('returning-page');
let stack: NpmStartStack;
const contexts: BrowserContext[] = [];
const problems: string[] = [];

beforeAll(async () => {
  ensureWebBuild();
  stack = await startNpmStack(tmp.dir);
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await stack?.stop();
  tmp.cleanup();
});

/** Chromium on the profile in `dir` (created when missing), with the page open. */
async function openProfile(dir: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: '/usr/bin/chromium',
    args: WEBRTC_CHROMIUM_ARGS,
    viewport: { width: 1200, height: 900 },
  });
  contexts.push(context);
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.goto(stack.pageUrl);
  return { context, page };
}

const MB = /([\d.]+) \/ ([\d.]+) MB — cache ([\d.]+), peers ([\d.]+), origin ([\d.]+)/;

describe("the page's cache, as a visitor sees it", () => {
  it('a fresh profile has nothing cached; after contributing, a restarted browser shows its pieces as cache', async () => {
    const profile = tmp.path('profile');
    const fresh = await openProfile(profile);
    // Joined: the room's manifest is in IndexedDB now, and nothing else.
    await fresh.page.locator('[data-testid=chat-input]:not([disabled])').waitFor({ timeout: 90_000 });
    await fresh.page.reload();
    await fresh.page.locator('[data-testid=cache-empty][data-checked=yes]').waitFor({ timeout: 30_000 });
    expect(await fresh.page.locator('[data-testid=cache-list]').count()).toBe(0);
    expect(await fresh.page.locator('[data-testid=clear-cache]').isDisabled()).toBe(true);

    await fresh.page.locator('[data-testid=chat-input]:not([disabled])').waitFor({ timeout: 90_000 });
    await fresh.page.locator('[data-testid=budget]').fill('256');
    await fresh.page.locator('[data-testid=budget]').dispatchEvent('change');
    await fresh.page.locator('[data-testid=contribute]').click();
    await expect.poll(() => fresh.page.locator('[data-testid=layers]').textContent(), { timeout: 120_000 }).toMatch(/\(loaded\)/);
    const first = MB.exec((await fresh.page.locator('[data-testid=pieces]').textContent()) ?? '');
    expect(Number(first?.[1])).toBeGreaterThan(0);
    expect(first?.[1]).toBe(first?.[2]);
    const held = first?.[1];
    await fresh.context.close();

    // The same profile in a new browser: it joins watching (no layers yet) and shows what it kept.
    const again = await openProfile(profile);
    await expect
      .poll(async () => MB.exec((await again.page.locator('[data-testid=pieces]').textContent()) ?? '')?.slice(1, 4), { timeout: 90_000 })
      .toEqual([held, held, held]);
    await again.page.locator('[data-testid=cache-list]').waitFor({ timeout: 30_000 });
    await expect.poll(() => again.page.locator('[data-testid=clear-cache]').isEnabled(), { timeout: 60_000 }).toBe(true);
    expect(problems).toEqual([]);
  });
});
