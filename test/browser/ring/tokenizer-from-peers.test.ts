import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ViteDevServer } from 'vite';
import { convertLlama2c } from '../../../node-peer/convert/convert-llama2c.ts';
import { openModelPackage } from '../../../node-peer/model/open-model-package.ts';
import { createTokenizer } from '../../../shared/tokenizer/create-tokenizer.ts';
import type { SignalingServer } from '../../../signaling/server.ts';
import { goldenCases, MODELS_DIR } from '../../util/models.ts';
import { CHROMIUM_ARGS } from '../../util/pieces-browser.ts';
import { startRingPeer, startRingSignaling, stopPeer, type RingPeerProcess } from '../../util/ring-harness.ts';
import { startRingPageServer } from '../../util/ring-page-server.ts';
import { makeTempDir } from '../../util/temp-dir.ts';

// A browser peer joined by model id with no origin gets the model's tokenizer from the peers
// (docs/pieces.md, "Tokenizer"): a Node peer seeding its package directory answers the page's
// tokenizer REQUESTs, and the page (the shared peer core's one loader) checks the hash and uses it.
// Real signaling, a real Node peer process, headless Chromium over real WebRTC.
const GiB = 1024 ** 3;
const tmp = makeTempDir('ring-tokenizer-peers');
let signaling: { server: SignalingServer };
let vite: ViteDevServer;
let pageBase = '';
let browser: Browser;
let seed: RingPeerProcess | undefined;

beforeAll(async () => {
  signaling = await startRingSignaling();
  ({ vite, pageUrl: pageBase } = await startRingPageServer());
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  if (seed) await stopPeer(seed);
  await vite?.close();
  await signaling?.server.close();
  tmp.cleanup();
});

describe('a browser peer without an origin', () => {
  it('gets the tokenizer from a Node seed and encodes as the package does', async () => {
    const c = goldenCases()[0]!;
    const dir = tmp.path('model');
    const { modelId } = await convertLlama2c(join(MODELS_DIR, c.model), join(MODELS_DIR, c.tokenizer), dir, { pieceSize: 64 * 1024 });
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
