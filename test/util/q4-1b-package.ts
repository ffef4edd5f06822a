// A seeded random q4 package with Llama-3.2-1B's shape, generated once and kept in the OS temp
// folder between runs: drawing ~1.5 G normals in JS takes minutes (docs/pieces.md has no part in
// it; this is a test fixture only). The folder name hashes the shape, so a changed shape or seed
// writes a new package; a half-written one (killed run) is never reused.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDemoModel, type DemoModelShape } from '../../node-peer/convert/demo-model.ts';
import type { ModelManifest } from '../../shared/model/manifest.ts';

/** Llama-3.2-1B: hidden 2048, FFN 8192, 16 layers, 32 query / 8 KV heads, vocab 128256, tied, llama3 RoPE. */
export const LLAMA_32_1B_SHAPE: DemoModelShape = {
  layers: 16,
  hidden: 2048,
  intermediate: 8192,
  heads: 32,
  kvHeads: 8,
  vocab: 128256,
  tied: true,
  // The served context, not the model's 131072: the tests reserve one context of KV per stage.
  context: 2048,
  ropeTheta: 500_000,
  ropeScaling: { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 },
};

export interface CachedPackage {
  readonly dir: string;
  readonly modelId: string;
  readonly manifest: ModelManifest;
  /** Seconds spent generating it in this run (0: it was cached). */
  readonly generatedSeconds: number;
}

const DONE = '.complete';

/** The package of `shape` at q4, from the cache or written now (the cache survives the test run). */
export async function cachedQ4Package(shape: DemoModelShape = LLAMA_32_1B_SHAPE): Promise<CachedPackage> {
  const key = createHash('sha256')
    .update(JSON.stringify({ shape, dtype: 'q4', v: 1 }))
    .digest('hex')
    .slice(0, 16);
  const dir = join(tmpdir(), `ringmesh-q4-package-${key}`);
  let generatedSeconds = 0;
  if (!existsSync(join(dir, DONE))) {
    const partial = `${dir}.partial-${process.pid}`;
    rmSync(partial, { recursive: true, force: true });
    const started = performance.now();
    const { modelId } = await writeDemoModel(partial, shape, { dtype: 'q4' });
    writeFileSync(join(partial, DONE), modelId);
    rmSync(dir, { recursive: true, force: true });
    renameSync(partial, dir);
    generatedSeconds = (performance.now() - started) / 1000;
  }
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ModelManifest;
  return { dir, modelId: readFileSync(join(dir, DONE), 'utf8'), manifest, generatedSeconds };
}
