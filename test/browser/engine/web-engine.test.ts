import { mkdtempSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertLlama2c } from '../../../node-peer/convert/convert-llama2c.ts';
import { CHROMIUM_ARGS, startPageServer } from '../../util/pieces-browser.ts';
import { goldenCases, MODELS_DIR } from '../../util/models.ts';
import { openModelPackage } from '../../../node-peer/model/open-model-package.ts';
import type { Stage } from '../../../shared/engine/engine.ts';
import { KernelEngine } from '../../../shared/engine/kernel/kernel-engine.ts';
import { generate } from '../../../shared/generate/generate.ts';
import { evenRanges } from '../../../shared/generate/split.ts';
import { asSessionId } from '../../../shared/ids.ts';
import { argmax } from '../../../shared/sampler/sampler.ts';
import { readRangeUnits } from '../../util/engine-fixtures.ts';

// OrtWebEngine inside Chromium: WASM, and WebGPU on SwiftShader (--enable-unsafe-webgpu, GPU
// process allowed), each reproducing the run.c golden ids of the GQA model, split in two.
const root = process.cwd();
let work: string;
let server: { url: string; close: () => Promise<void> };
let browser: Browser;
let page: Page;
const c = goldenCases()[2];

beforeAll(async () => {
  if (c === undefined) throw new Error('golden case 2 missing');
  // Under the repository (gitignored test-results/) so the dev server may serve it.
  work = mkdtempSync(join(root, 'test-results', 'engine-browser-'));
  await convertLlama2c(join(MODELS_DIR, c.model), join(MODELS_DIR, c.tokenizer), join(work, 'model'));
  for (const dtype of ['q8', 'q4'] as const) await convertLlama2c(join(MODELS_DIR, c.model), join(MODELS_DIR, c.tokenizer), join(work, dtype), { dtype });
  server = await startPageServer();
  const args = [...CHROMIUM_ARGS.filter((a) => a !== '--disable-gpu'), '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=swiftshader'];
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args });
  page = await browser.newPage();
  await page.goto(`${server.url}/test/browser/engine/fixtures/engine-page.html`);
  await page.waitForFunction(() => document.title === 'ready');
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe('OrtWebEngine in Chromium', () => {
  // SwiftShader is slow: WebGPU checks the first 28 tokens (a prefix of the same greedy run).
  it.each([
    { backend: 'wasm', steps: undefined },
    { backend: 'webgpu', steps: 40 },
  ] as const)('$backend: golden greedy ids, split in two', async ({ backend, steps: limit }) => {
    if (c === undefined) throw new Error('golden case 2 missing');
    const steps = limit ?? c.steps;
    const base = `/${relative(root, join(work, 'model'))}`;
    const out = await page.evaluate(
      (req) => (globalThis as unknown as { rmEngine: { run(r: unknown): Promise<{ kind: string; ids: number[] }> } }).rmEngine.run(req),
      { base, backend, promptIds: c.prompt_ids, steps, stages: 2 },
    );
    expect(out.kind).toBe(backend);
    expect(out.ids).toEqual(c.generated_ids.slice(0, steps - c.prompt_ids.length + 1));
  });
});

describe("the page's engine in Chromium (PageEngine on WASM)", () => {
  // The web peer's worker serves PageEngine: q8/q4 stages on WASM run on the kernel engine. Its ids
  // in Chromium are those of the same engine in Node (the same kernels, the same float32 JS).
  it.each(['q8', 'q4'] as const)('%s package: both stages on the kernel engine, the greedy ids of the kernel engine in Node', async (dtype) => {
    if (c === undefined) throw new Error('golden case 2 missing');
    const pkg = await openModelPackage(join(work, dtype));
    const engine = new KernelEngine();
    let expected: readonly number[];
    try {
      const stages: Stage[] = [];
      for (const range of evenRanges(2, pkg.manifest.architecture.numLayers)) {
        stages.push(await engine.loadStage({ manifest: pkg.manifest, range, units: await readRangeUnits(pkg, range) }));
      }
      const r = await generate(stages, pkg.manifest.architecture.contextLength, {
        session: asSessionId('node'),
        promptIds: c.prompt_ids,
        pick: argmax,
        stopIds: pkg.manifest.tokenizer.eos,
        maxPositions: c.steps,
      });
      expected = r.generatedIds;
    } finally {
      await engine.dispose();
    }
    const out = await page.evaluate(
      (req) => (globalThis as unknown as { rmEngine: { run(r: unknown): Promise<{ kind: string; ids: number[]; kernelStages: number }> } }).rmEngine.run(req),
      { base: `/${relative(root, join(work, dtype))}`, backend: 'wasm', engine: 'page', promptIds: c.prompt_ids, steps: c.steps, stages: 2 },
    );
    expect(out.kind).toBe('wasm');
    expect(out.kernelStages).toBe(2);
    expect(expected.length).toBeGreaterThan(10);
    expect(out.ids).toEqual(expected);
  });
});
