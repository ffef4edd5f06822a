import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { ModelRecord, ModelStore } from '../../../shared/pieces/piece-store.ts';
import { runPieceStoreContract } from '../../contracts/piece-store.contract.ts';
import { launchBrowser, startPageServer } from '../../util/pieces-browser.ts';

// The contract runs in Node, each call forwarded to a real IdbPieceStore inside Chromium.
let server: { url: string; close: () => Promise<void> };
let browser: Browser;
let page: Page;
let counter = 0;

beforeAll(async () => {
  server = await startPageServer();
  browser = await launchBrowser();
  page = await browser.newPage();
  await page.goto(`${server.url}/test/browser/pieces/fixtures/pieces-page.html`);
  await page.waitForFunction(() => document.title === 'ready');
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

type Call = { name: string; method: string; args: unknown[] };

function remoteStore(name: string): ModelStore {
  const call = async (method: string, ...args: unknown[]): Promise<unknown> => {
    const wire = args.map((a) => (a instanceof Uint8Array ? { u8: Array.from(a) } : a));
    const out = await page.evaluate(
      async ({ name, method, args }: Call) => {
        const api = (globalThis as unknown as { rmPieces: { IdbPieceStore: new (o: { name: string }) => object; stores: Map<string, object> } }).rmPieces;
        let store = api.stores.get(name);
        if (!store) api.stores.set(name, (store = new api.IdbPieceStore({ name })));
        const real = args.map((a) => (a && typeof a === 'object' && 'u8' in a ? new Uint8Array((a as { u8: number[] }).u8) : a));
        try {
          const r: unknown = await (store as Record<string, (...x: unknown[]) => Promise<unknown>>)[method]?.(...real);
          return { ok: r instanceof Uint8Array ? { u8: Array.from(r) } : r };
        } catch (e) {
          return { err: (e as Error).name };
        }
      },
      { name, method, args: wire },
    );
    const res = out as { ok?: unknown; err?: string };
    if (res.err) throw Object.assign(new Error(res.err), { name: res.err });
    const v = res.ok;
    return v && typeof v === 'object' && 'u8' in v ? new Uint8Array((v as { u8: number[] }).u8) : v;
  };
  return {
    has: (h) => call('has', h) as Promise<boolean>,
    get: (h) => call('get', h) as Promise<Uint8Array | undefined>,
    put: async (h, d) => void (await call('put', h, d)),
    verify: (h) => call('verify', h) as Promise<boolean>,
    evict: async (h) => void (await call('evict', h)),
    list: () => call('list') as Promise<string[]>,
    getModel: (id) => call('getModel', id) as Promise<ModelRecord | undefined>,
    putModel: async (r) => void (await call('putModel', r)),
    listModels: () => call('listModels') as Promise<ModelRecord[]>,
    deleteModel: async (id) => void (await call('deleteModel', id)),
  };
}

describe('IdbPieceStore in Chromium', () => {
  runPieceStoreContract('IdbPieceStore', async () => {
    const name = `contract-${++counter}`;
    // reopen = a fresh IdbPieceStore object on the same database (what a reload constructs).
    return {
      store: remoteStore(name),
      reopen: async () => {
        await page.evaluate((n) => (globalThis as unknown as { rmPieces: { stores: Map<string, object> } }).rmPieces.stores.delete(n), name);
        return remoteStore(name);
      },
    };
  });

  it('runs in a real browser', async () => {
    expect(await page.evaluate(() => typeof indexedDB)).toBe('object');
  });
});
