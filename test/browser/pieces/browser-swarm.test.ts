import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SwarmProgress } from '../../../shared/pieces/progress.ts';
import { createSignalingServer, type SignalingServer } from '../../../signaling/server.ts';
import { startOriginServer, type OriginServer } from '../../util/origin-server.ts';
import { launchPersistent, startPageServer } from '../../util/pieces-browser.ts';
import { writeSyntheticPackage, type SyntheticPackage } from '../../util/pieces-package.ts';
import { startPeerProcess, type PeerProcess } from '../../util/pieces-processes.ts';

// The browser side of the swarm: real Chromium, real IndexedDB (persistent profile), fetch origin
// with CORS + Range, WebRTC to real `node-peer start` processes (loopback namespace).
const PIECE = 256 * 1024;
interface PageState {
  ready: boolean;
  cachedBefore: boolean;
  progress?: SwarmProgress;
  error?: { name: string; message: string };
  evicted: string[];
  models?: { id: string; complete: boolean }[];
  usage?: number;
}
let dir: string;
let pages: { url: string; close: () => Promise<void> };
let signaling: SignalingServer;
/** The page's console: its swarm traces every origin read (see `dumpDuplicates`). */
const pageLog: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rm-bswarm-'));
  pages = await startPageServer();
  signaling = await createSignalingServer({ port: 0 });
});
afterAll(async () => {
  await pages?.close();
  await signaling?.close();
  await rm(dir, { recursive: true, force: true });
});

async function openSwarmPage(ctx: BrowserContext, query: Record<string, string>): Promise<Page> {
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  page.on('pageerror', (err) => console.error(`[page] ${err.message}`));
  page.on('console', (m) => pageLog.push(m.text()));
  await page.goto(`${pages.url}/test/browser/pieces/fixtures/swarm-page.html?${new URLSearchParams(query)}`);
  return page;
}
async function waitSettled(page: Page, timeoutMs = 120_000): Promise<PageState> {
  await page.waitForFunction(
    () => {
      const s = (globalThis as unknown as { rmSwarm?: PageState }).rmSwarm;
      return s && (s.ready || s.error);
    },
    undefined,
    { timeout: timeoutMs, polling: 200 },
  );
  return page.evaluate(() => (globalThis as unknown as { rmSwarm: PageState }).rmSwarm);
}
/** On a piece the origin served more than once, prints who read it and on which view of the room. */
function dumpDuplicates(origin: OriginServer, piece: number, logs: { name: string; lines: string[] }[]): void {
  const dups = [...origin.bytesByPiece].filter(([k, b]) => !k.startsWith('manifest') && b > piece).map(([k]) => k.replace('.bin', ''));
  for (const d of dups)
    for (const { name, lines } of logs) for (const l of lines) if (l.includes(`"originRead":"${d}"`)) console.error(`[dup ${d}] ${name} ${l}`);
}
const pieceBytes = (o: OriginServer): number => [...o.bytesByPiece].filter(([k]) => !k.startsWith('manifest')).reduce((n, [, b]) => n + b, 0);

describe('browser peer of the piece swarm', () => {
  it('six Node peers and one Chromium page, from the model id and origin URL: all complete, each piece from the origin at most once', async () => {
    const pkg = await writeSyntheticPackage(join(dir, 'six'), { layers: 3, unitBytes: 5 * PIECE, pieceSize: PIECE, seed: 61 });
    const origin = await startOriginServer({ dir: join(dir, 'six'), pieceSize: PIECE, bytesPerSecond: 3_000_000 });
    const peers: PeerProcess[] = [];
    const ctx = await launchPersistent(join(dir, 'profile-six'));
    try {
      for (let i = 0; i < 6; i++) {
        peers.push(
          startPeerProcess(
            `n${i}`,
            [
              '--signal',
              signaling.url,
              '--model',
              pkg.modelId,
              '--origin',
              origin.url,
              '--replica',
              'full',
              '--layers',
              '0:3',
              '--cache-dir',
              join(dir, `six-c${i}`),
            ],
            { env: { RINGMESH_TRACE_ORIGIN: '1' } },
          ),
        ); // pieces-only peers
      }
      const page = await openSwarmPage(ctx, { model: pkg.modelId, signal: signaling.url, origin: origin.url, db: 'six' });
      const [state] = await Promise.all([waitSettled(page, 180_000), ...peers.map((p) => p.waitFor((e) => e.event === 'ready', 180_000))]);
      dumpDuplicates(origin, PIECE, [...peers.map((p) => ({ name: p.name, lines: p.stderr().split('\n') })), { name: 'page', lines: pageLog }]);
      expect(state.error).toBeUndefined();
      expect(state.progress?.bytesDone).toBe(pkg.bytes);
      for (const [piece, bytes] of origin.bytesByPiece) if (!piece.startsWith('manifest')) expect(bytes, piece).toBeLessThanOrEqual(PIECE);
      expect(pieceBytes(origin)).toBe(pkg.bytes);
    } finally {
      await ctx.close();
      for (const p of peers) p.kill('SIGKILL');
      await Promise.all(peers.map((p) => p.exited));
      await origin.close();
    }
  });

  it('a returning visitor reloads with its model from IndexedDB and zero piece bytes received', async () => {
    const pkg = await writeSyntheticPackage(join(dir, 'ret'), { layers: 2, unitBytes: 4 * PIECE, pieceSize: PIECE, seed: 62 });
    const origin = await startOriginServer({ dir: join(dir, 'ret'), pieceSize: PIECE });
    const profile = join(dir, 'profile-ret');
    const query = { model: pkg.modelId, origin: origin.url, db: 'ret' };
    try {
      let ctx = await launchPersistent(profile);
      const first = await waitSettled(await openSwarmPage(ctx, query));
      expect(first).toMatchObject({ ready: true, cachedBefore: false });
      expect(first.progress?.fromOrigin).toBe(pkg.bytes);
      await ctx.close(); // a whole browser restart, not only a reload
      const before = { pieces: pieceBytes(origin), requests: origin.requests };
      ctx = await launchPersistent(profile);
      const again = await waitSettled(await openSwarmPage(ctx, query));
      await ctx.close();
      expect(again).toMatchObject({ ready: true, cachedBefore: true });
      expect(again.progress).toMatchObject({ fromCache: pkg.bytes, fromPeers: 0, fromOrigin: 0 });
      expect(origin.requests).toBe(before.requests); // not even the manifest: it is cached too
    } finally {
      await origin.close();
    }
  });

  it('a full quota evicts the oldest model, never a half-stored one, and gives a clear error when nothing is left to evict', async () => {
    const mk = (name: string, seed: number, units: number) =>
      writeSyntheticPackage(join(dir, name), { layers: 1, unitBytes: units * PIECE, pieceSize: PIECE, seed });
    const [a, b, c, big] = await Promise.all([mk('qa', 71, 4), mk('qb', 72, 4), mk('qc', 73, 4), mk('qbig', 74, 16)]);
    const servers = await Promise.all(['qa', 'qb', 'qc', 'qbig'].map((n) => startOriginServer({ dir: join(dir, n), pieceSize: PIECE })));
    const ctx = await launchPersistent(join(dir, 'profile-quota'));
    try {
      const page = await openSwarmPage(ctx, { db: 'none' });
      // A real quota, enforced by Chromium itself (DevTools: Storage.overrideQuotaForOrigin):
      // room for two of the small models, not three, and never for the big one.
      const cdp = await ctx.newCDPSession(page);
      await cdp.send('Storage.overrideQuotaForOrigin', { origin: pages.url, quotaSize: Math.round((a!.bytes + b!.bytes) * 1.4) });
      const load = async (pkg: SyntheticPackage, server: OriginServer): Promise<PageState> =>
        waitSettled(await openSwarmPage(ctx, { model: pkg.modelId, origin: server.url, db: 'quota' }));
      expect((await load(a!, servers[0]!)).ready).toBe(true);
      expect((await load(b!, servers[1]!)).ready).toBe(true);
      expect((await load(a!, servers[0]!)).cachedBefore).toBe(true); // touch a: b is now least recently used
      // Whole models go, oldest first (b, then a), until c fits. Chromium frees IndexedDB space
      // lazily (seconds), so how many evictions that takes varies, and c may still be refused:
      // what never varies is the order, and that no record is left for a model not fully stored.
      const lru = [b!.modelId, a!.modelId];
      const third = await load(c!, servers[2]!);
      expect(third.ready || third.error?.name === 'StoreQuotaError').toBe(true);
      expect(third.evicted.length).toBeGreaterThan(0);
      expect(third.evicted).toEqual(lru.slice(0, third.evicted.length));
      expect(third.models?.every((m) => m.complete)).toBe(true);
      expect(third.models?.some((m) => third.evicted.includes(m.id))).toBe(false);
      const failed = await load(big!, servers[3]!);
      expect(failed.error?.name).toBe('StoreQuotaError');
      expect(failed.error?.message).toMatch(/quota full/);
      expect(failed.models).toEqual([]); // everything older evicted whole; big never recorded
      expect(failed.usage).toBeLessThan(Math.round((a!.bytes + b!.bytes) * 1.4));
      // the half-stored big model has no record: it does not count as cached
      expect((await load(big!, servers[3]!)).cachedBefore).toBe(false);
    } finally {
      await ctx.close();
      for (const s of servers) await s.close();
    }
  });
});
