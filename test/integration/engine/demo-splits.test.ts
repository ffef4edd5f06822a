import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoModel } from '../../../node-peer/convert/demo-model.ts';
import { localGenerate } from '../../../node-peer/engine/local-generate.ts';
import { OrtNodeEngine } from '../../../node-peer/engine/ort-node-engine.ts';
import type { Engine } from '../../../shared/engine/engine.ts';
import type { WeightDType } from '../../../shared/model/manifest.ts';
import { OrtWebEngine } from '../../../shared/engine/ort-web-engine.ts';
import { createPick } from '../../../node-peer/engine/create-pick.ts';

// Acceptance: a seeded demo model gives identical ids on both engines and across any split.
const work = mkdtempSync(join(tmpdir(), 'ringmesh-demo-splits-'));
const engines: Record<'node' | 'wasm', Engine> = { node: new OrtNodeEngine({ threads: 1 }), wasm: new OrtWebEngine({ backend: 'wasm' }) };
const dirs = new Map<WeightDType, string>();

beforeAll(async () => {
  for (const dtype of ['fp32', 'fp16'] as const) {
    const dir = join(work, dtype);
    await writeDemoModel(dir, { layers: 4, hidden: 64, heads: 8, kvHeads: 2, vocab: 384, context: 128, seed: 42 }, { dtype });
    dirs.set(dtype, dir);
  }
});

afterAll(async () => {
  await engines.node.dispose();
  await engines.wasm.dispose();
  rmSync(work, { recursive: true, force: true });
});

describe.each(['fp32', 'fp16'] as const)('seeded demo model, %s weights', (dtype) => {
  // Random weights make greedy decoding repeat one token, so the check samples (seeded): any
  // logit difference that mattered would change the draw somewhere along 24 tokens.
  it.each([
    { mode: 'greedy', temperature: 0 },
    { mode: 'seeded sampling', temperature: 1, topP: 0.9 },
  ])('$mode: the same ids on NodeEngine and WebEngine (WASM), unsplit and split any way', async (sampling) => {
    const runs: { label: string; ids: readonly number[] }[] = [];
    for (const engine of ['node', 'wasm'] as const) {
      for (const split of [undefined, '2,2', '1,3', '3,1', '1,1,1,1']) {
        const result = await localGenerate({
          modelDir: dirs.get(dtype) as string,
          prompt: 'Hello, ring',
          engine: engines[engine],
          pick: createPick({ temperature: sampling.temperature, topP: sampling.topP ?? 1, seed: 7 }),
          maxTokens: 24,
          ...(split === undefined ? {} : { split }),
        });
        expect(result.stopReason).toBe('max-tokens');
        runs.push({ label: `${engine} ${split ?? 'unsplit'}`, ids: result.generatedIds });
      }
    }
    const reference = runs[0]?.ids;
    expect(reference).toHaveLength(24);
    if (sampling.temperature > 0) expect(new Set(reference).size).toBeGreaterThan(8);
    for (const r of runs) expect({ label: r.label, ids: r.ids }).toEqual({ label: r.label, ids: reference });
  });
});
