// The page's storage check before a download (docs/web-page.md, "Storage"), against a real quota:
// Chromium's DevTools protocol sets this origin's quota (Storage.overrideQuotaForOrigin), which
// IndexedDB enforces and navigator.storage.estimate() reports once the static-quota privacy
// feature is off. Two older models are seeded in the page's own IndexedDB (real bytes, real
// usage); with the quota just above that usage, contributing evicts the least recently used one
// and the layers load; with too little room even after evicting, nothing is evicted or downloaded.
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNpmStack, type NpmStartStack } from '../../util/npm-start-stack.ts';
import { makeTempDir } from '../../util/temp-dir.ts';
import { ensureWebBuild, WEBRTC_CHROMIUM_ARGS } from '../../util/webrtc-chromium.ts';

const SHOTS = join(import.meta.dirname, '../../../test-results');
const MiB = 2 ** 20;
const tmp = makeTempDir('storage-quota');
let stack: NpmStartStack;
let browser: Browser;
const problems: string[] = [];

beforeAll(async () => {
  ensureWebBuild();
  stack = await startNpmStack(tmp.dir);
  // Chromium reports a static quota (usage + 10 GiB) to web pages unless these are off.
  const args = WEBRTC_CHROMIUM_ARGS.map((a) => (a.startsWith('--disable-features=') ? `${a},StaticStorageQuota,IncognitoStaticStorageQuota` : a));
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args });
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  tmp.cleanup();
});

/** A complete cached model in the page's IndexedDB (the names IdbPieceStore uses): `mib` random 1 MiB pieces. */
async function seedModel(page: Page, name: string, mib: number, lastUsed: number): Promise<void> {
  await page.evaluate(
    async ({ name, mib, lastUsed }) => {
      const open = (db: string, store: string): Promise<IDBDatabase> =>
        new Promise((resolve, reject) => {
          const req = indexedDB.open(db);
          req.onupgradeneeded = () => req.result.createObjectStore(store);
          req.onsuccess = () => resolve(req.result);
          req.onerror = () => reject(req.error);
        });
      const put = (db: IDBDatabase, store: string, key: string, value: unknown): Promise<void> =>
        new Promise((resolve, reject) => {
          const tx = db.transaction(store, 'readwrite');
          tx.objectStore(store).put(value, key);
          tx.oncomplete = () => resolve();
          tx.onerror = tx.onabort = () => reject(tx.error);
        });
      const hex = async (b: Uint8Array<ArrayBuffer>): Promise<string> =>
        [...new Uint8Array(await crypto.subtle.digest('SHA-256', b))].map((x) => x.toString(16).padStart(2, '0')).join('');
      const pieces = await open('ringmesh-pieces', 'pieces');
      const models = await open('ringmesh-models', 'models');
      const hashes: string[] = [];
      for (let i = 0; i < mib; i++) {
        const piece = new Uint8Array(2 ** 20);
        for (let o = 0; o < piece.length; o += 65_536) crypto.getRandomValues(piece.subarray(o, o + 65_536));
        const hash = await hex(piece);
        await put(pieces, 'pieces', hash, piece);
        hashes.push(hash);
      }
      const manifest = new TextEncoder().encode(JSON.stringify({ name }));
      const modelId = await hex(manifest);
      await put(pieces, 'pieces', modelId, manifest);
      await put(models, 'models', modelId, { modelId, pieces: hashes, bytes: mib * 2 ** 20, lastUsed });
      pieces.close();
      models.close();
    },
    { name, mib, lastUsed },
  );
}

const usage = (page: Page): Promise<number> => page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
const pieceCount = (page: Page): Promise<number> =>
  page.evaluate(
    () =>
      new Promise<number>((resolve, reject) => {
        const req = indexedDB.open('ringmesh-pieces');
        req.onsuccess = () => {
          const count = req.result.transaction('pieces').objectStore('pieces').count();
          count.onsuccess = () => resolve(count.result);
          count.onerror = () => reject(count.error);
        };
        req.onerror = () => reject(req.error);
      }),
  );
/** An element's text with its whitespace collapsed (the templates wrap lines). */
const text = async (page: Page, testId: string): Promise<string> =>
  ((await page.locator(`[data-testid=${testId}]`).textContent()) ?? '').replace(/\s+/g, ' ').trim();
const mb = (n: number): string => `${(n / MiB).toFixed(1)} MB`;

/** A fresh context (its own storage) on the page, ready to chat, with the quota set to `usage + headroom` after `seed`. */
async function openWithQuota(seed: (page: Page) => Promise<void>, headroom: number): Promise<{ page: Page; quota: number; close: () => Promise<void> }> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 1000 } });
  const page = await context.newPage();
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.goto(stack.pageUrl);
  await page.locator('[data-testid=chat-input]:not([disabled])').waitFor({ timeout: 60_000 });
  await seed(page);
  const quota = (await usage(page)) + headroom;
  const cdp = await context.newCDPSession(page);
  await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(stack.pageUrl).origin, quotaSize: quota });
  await page.reload();
  await page.locator('[data-testid=chat-input]:not([disabled])').waitFor({ timeout: 60_000 });
  await expect.poll(() => text(page, 'storage-used'), { timeout: 10_000 }).toContain(`of ${mb(quota)} quota`);
  expect(await text(page, 'persistence')).toMatch(/not asked yet|granted/); // asked on contribute, not on load
  return { page, quota, close: () => context.close() };
}

/** Contributes 256 MiB: a typed budget replaces the detected default (docs/web-page.md, "Memory budget"). */
async function contribute(page: Page): Promise<void> {
  await expect.poll(() => text(page, 'budget-source'), { timeout: 30_000 }).toMatch(/^default: /);
  expect(Number(await page.locator('[data-testid=budget]').inputValue()) % 16).toBe(0);
  await page.locator('[data-testid=budget]').fill('256');
  await page.locator('[data-testid=budget]').dispatchEvent('change');
  expect(await page.locator('[data-testid=budget-source]').count()).toBe(0);
  await page.locator('[data-testid=contribute]').click();
}

describe('storage quota before a download', () => {
  it('shows the quota and what the layers need, and evicts the least recently used model to make room', async () => {
    const { page, quota, close } = await openWithQuota(async (p) => {
      await seedModel(p, 'old-model-a', 32, 1_000); // used longest ago
      await seedModel(p, 'old-model-b', 32, Date.now());
    }, MiB / 2);
    expect((await page.locator('[data-testid=cached-model]').allTextContents()).join('\n')).toMatch(/old-model-a[\s\S]*old-model-b/);

    await contribute(page);
    await page.locator('[data-testid=storage-check]').waitFor({ timeout: 90_000 });
    const check = await text(page, 'storage-check');
    expect(check).toMatch(new RegExp(`Before downloading: [\\d.]+ MB used of ${mb(quota).replace('.', '\\.')} quota; this tab's layers need [\\d.]+ MB`));
    expect(Number.parseFloat(await text(page, 'storage-needed'))).toBeGreaterThan(0);
    expect(await text(page, 'storage-evicted')).toMatch(/: old-model-a$/);
    await expect.poll(() => text(page, 'layers'), { timeout: 120_000 }).toMatch(/\(loaded\)/);
    expect(await page.locator('[data-testid=storage-short]').count()).toBe(0);
    // The newer model is still cached; the evicted one is gone, and the origin stayed within its quota.
    await expect
      .poll(async () => (await page.locator('[data-testid=cached-model]').allTextContents()).join('\n'), { timeout: 10_000 })
      .not.toMatch(/old-model-a/);
    expect((await page.locator('[data-testid=cached-model]').allTextContents()).join('\n')).toMatch(/old-model-b/);
    expect(await usage(page)).toBeLessThanOrEqual(quota);
    expect(await text(page, 'persistence')).toMatch(/^Persistent storage: (granted|not granted)/); // asked on contributing
    await page.screenshot({ path: join(SHOTS, 'storage-evicted.png'), fullPage: true });
    await close();
  });

  it('downloads nothing and says why when even evicting every other model would not make room', async () => {
    const { page, quota, close } = await openWithQuota((p) => seedModel(p, 'old-model-c', 1, 1_000), MiB / 2);
    const before = await pieceCount(page);

    await contribute(page);
    await page.locator('[data-testid=storage-short]').waitFor({ timeout: 90_000 });
    const short = await text(page, 'storage-short');
    expect(short).toMatch(/need [\d.]+ MB free .* the quota leaves [\d.]+ MB, .* would free only 1\.0 MB — [\d.]+ MB short\. Nothing was downloaded/s);
    expect(await text(page, 'storage-check')).toContain(`of ${mb(quota)} quota`);
    // The tab offers no memory instead of holding layers it cannot store; nothing evicted or written.
    await page.locator('[data-testid=contribute]:not([disabled])').waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-testid=storage-evicted]').count()).toBe(0);
    expect(await pieceCount(page)).toBe(before);
    expect((await page.locator('[data-testid=cached-model]').allTextContents()).join('\n')).toMatch(/old-model-c/);
    await page.screenshot({ path: join(SHOTS, 'storage-short.png'), fullPage: true });
    await close();
    expect(problems).toEqual([]);
  });
});
