import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ViteDevServer } from 'vite';
import { convertLlama2c } from '../../../node-peer/convert/convert-llama2c.ts';
import { openModelPackage } from '../../../node-peer/model/open-model-package.ts';
import type { PlannedRing } from '../../../shared/ring/ring-plan.ts';
import { createTokenizer } from '../../../shared/tokenizer/create-tokenizer.ts';
import type { SignalingServer } from '../../../signaling/server.ts';
import { goldenCases, MODELS_DIR } from '../../util/models.ts';
import { CHROMIUM_ARGS } from '../../util/pieces-browser.ts';
import {
  asGoldenIds,
  generateOn,
  startRingPeer,
  startRingSignaling,
  stopPeer,
  waitRingReady,
  type RecordedPlan,
  type RingPeerProcess,
} from '../../util/ring-harness.ts';
import { makeTempDir } from '../../util/temp-dir.ts';
import { startOriginServer, type OriginServer } from '../../util/origin-server.ts';
import { startRingPageServer } from '../../util/ring-page-server.ts';

// Two Node peer processes and a headless Chromium page (its stage on the
// WASM engine in a Worker) form the ring; the page holds the middle partition (budgets 1 : 2 : 1),
// and every golden case of run.c comes out id for id — requested from a Node peer and from the page.
const GiB = 1024 ** 3;
const tmp = makeTempDir('ring-browser');
const cases = goldenCases();
let signaling: { server: SignalingServer; plans: RecordedPlan[] };
let vite: ViteDevServer;
let pageBase = '';
let browser: Browser;

beforeAll(async () => {
  signaling = await startRingSignaling();
  ({ vite, pageUrl: pageBase } = await startRingPageServer());
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  await vite?.close();
  await signaling?.server.close();
  tmp.cleanup();
});

describe.each([...new Set(cases.map((c) => c.model))])('Node – Chromium (WASM) – Node ring serving %s', (model) => {
  const peers: RingPeerProcess[] = [];
  let page: Page;
  let pagePeer = '';
  let modelId = '';
  let origin: OriginServer | undefined;

  beforeAll(async () => {
    const c = cases.find((k) => k.model === model)!;
    const dir = tmp.path(model.replace(/\.bin$/, ''));
    ({ modelId } = await convertLlama2c(join(MODELS_DIR, c.model), join(MODELS_DIR, c.tokenizer), dir, { pieceSize: 64 * 1024 }));
    // Join order matters to which ring the planner keeps: re-plans move as few layers as possible,
    // so the two Node peers form their ring first and the page (twice their memory) then joins it
    // in the middle, where it takes layers from both without moving the ends (embed and head).
    peers.push(await startRingPeer('seed', { signalUrl: signaling.server.url, model: dir, memoryBytes: GiB, cacheDir: tmp.path(`${modelId}-a`), threads: 1 }));
    peers.push(await startRingPeer('c', { signalUrl: signaling.server.url, model: modelId, memoryBytes: GiB, cacheDir: tmp.path(`${modelId}-c`), threads: 1 }));
    await waitRingReady(
      peers[0]!,
      peers.map((p) => p.peerId),
      120_000,
    );
    // The page also gets the package's HTTP origin, as `npm start` gives real pages: pieces no
    // connected peer has yet come from there (the swarm tests cover peer-only exchange).
    origin = await startOriginServer({ dir, pieceSize: 64 * 1024 });
    page = await browser.newPage();
    page.on('pageerror', (err) => console.error(`[page] ${err.message}`));
    await page.goto(`${pageBase}?${new URLSearchParams({ signal: signaling.server.url, model: modelId, memory: String(2 * GiB), origin: origin.url })}`);
    await page.waitForFunction(() => document.title !== 'loading', undefined, { timeout: 120_000 });
    const error = await page.evaluate(() => (globalThis as unknown as { rmRing: { state: { error?: string } } }).rmRing.state.error);
    expect(error).toBeUndefined();
    pagePeer = await page.evaluate(() => (globalThis as unknown as { rmRing: { peerId(): string } }).rmRing.peerId());
    await waitRingReady(peers[0]!, [peers[0]!.peerId, pagePeer, peers[1]!.peerId], 180_000).catch(async (err: unknown) => {
      // Say what the page saw: its own events are not in the Node peers' logs.
      const seen = await page.evaluate(() => {
        const r = (globalThis as unknown as { rmRing: { state: { events: unknown[] }; status(): unknown } }).rmRing;
        return JSON.stringify({ status: r.status(), events: r.state.events.slice(-12) });
      });
      throw new Error(`${String(err)}\npage: ${seen}`);
    });
  });

  afterAll(async () => {
    await page?.close();
    for (const p of peers) await stopPeer(p);
    await origin?.close();
  });

  it('puts the page in the middle with twice the layers of each Node peer (within one), on WASM', async () => {
    expect(await page.evaluate(() => (globalThis as unknown as { rmRing: { engineKind(): string } }).rmRing.engineKind())).toBe('wasm');
    const plan = signaling.plans.filter((p) => p.plan.modelId === modelId).at(-1)!.plan as PlannedRing;
    expect(plan.ring).toHaveLength(3);
    expect(plan.ring[1]!.peerId).toBe(pagePeer);
    const count = (id: string): number => plan.ring.filter((s) => s.peerId === id).reduce((n, s) => n + s.end - s.start, 0);
    expect(Math.abs(count(pagePeer) - plan.numLayers / 2)).toBeLessThan(1);
    for (const p of peers) expect(Math.abs(count(p.peerId) - plan.numLayers / 4)).toBeLessThan(1);
    for (const p of peers) expect(count(pagePeer)).toBeGreaterThanOrEqual(count(p.peerId));
    if (plan.numLayers % 4 === 0) expect(plan.ring.map((s) => count(s.peerId) / (plan.numLayers / 4))).toEqual([1, 2, 1]);
  });

  it.each(cases.filter((c) => c.model === model).map((c) => ({ ...c, label: `"${c.prompt}"` })))('golden case $label comes out id for id', async (c) => {
    const maxTokens = c.steps - c.prompt_ids.length + 1;
    const g = await generateOn(peers[0]!, c.prompt_ids, maxTokens, [1]);
    expect(asGoldenIds(g)).toEqual(c.generated_ids);
  });

  it('serves a request made by the page itself', async () => {
    const c = cases.find((k) => k.model === model)!;
    const maxTokens = c.steps - c.prompt_ids.length + 1;
    const ids = await page.evaluate(
      ([prompt, max]) =>
        (globalThis as unknown as { rmRing: { generate(p: number[], m: number, s: number[]): Promise<number[]> } }).rmRing.generate(prompt, max, [1]),
      [c.prompt_ids, maxTokens] as [number[], number],
    );
    expect(ids).toEqual(c.generated_ids);
  });
});

// A browser peer joined by model id with no origin gets the model's tokenizer from the peers
// (docs/pieces.md, "Tokenizer"): a Node peer seeding its package directory answers the page's
// tokenizer REQUESTs, and the page (the shared peer core's one loader) checks the hash and uses it.
describe('a browser peer without an origin', () => {
  let seed: RingPeerProcess | undefined;
  afterAll(async () => {
    if (seed) await stopPeer(seed);
  });

  it('gets the tokenizer from a Node seed and encodes as the package does', async () => {
    const c = goldenCases()[0]!;
    const dir = tmp.path('model-no-origin');
    // Another piece size: another model id, so a room of its own beside the ring above.
    const { modelId } = await convertLlama2c(join(MODELS_DIR, c.model), join(MODELS_DIR, c.tokenizer), dir, { pieceSize: 32 * 1024 });
    seed = await startRingPeer('seed', { signalUrl: signaling.server.url, model: dir, memoryBytes: GiB, cacheDir: tmp.path('seed-cache'), threads: 1 });
    const pkg = await openModelPackage(dir);
    const expected = createTokenizer(pkg.manifest.tokenizer, await pkg.readTokenizer(), pkg.manifest.architecture.vocabSize).encode(c.prompt);

    const page = await browser.newPage();
    page.on('pageerror', (err) => console.error(`[page] ${err.message}`));
    // memory 0: a requester only (no stage), so no plan has to place it; no origin parameter.
    await page.goto(`${pageBase}?${new URLSearchParams({ signal: signaling.server.url, model: modelId, memory: '0', tokenizer: '1' })}`);
    await page.waitForFunction(() => document.title !== 'loading', undefined, { timeout: 90_000 });
    const error = await page.evaluate(() => (globalThis as unknown as { rmRing: { state: { error?: string } } }).rmRing.state.error);
    expect(error).toBeUndefined();
    const ids = await page.evaluate((text) => (globalThis as unknown as { rmRing: { encode(t: string): number[] | null } }).rmRing.encode(text), c.prompt);
    expect(ids).toEqual(expected);
    expect(ids!.length).toBeGreaterThan(1);
    await page.close();
  });
});
