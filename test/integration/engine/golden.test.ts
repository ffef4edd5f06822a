import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertLlama2c } from '../../../node-peer/convert/convert-llama2c.ts';
import { localGenerate } from '../../../node-peer/engine/local-generate.ts';
import { OrtNodeEngine } from '../../../node-peer/engine/ort-node-engine.ts';
import type { Engine } from '../../../shared/engine/engine.ts';
import { OrtWebEngine } from '../../../shared/engine/ort-web-engine.ts';
import { argmax } from '../../util/engine-fixtures.ts';
import { goldenCases, MODELS_DIR } from '../../util/models.ts';

// Acceptance: after `convert`, `generate` reproduces llama2.c's run.c exactly —
// prompt ids, greedy ids, where it stopped, and the printed bytes — on both engines, unsplit,
// split in two, and one stage per layer: in process (ids checked), and again through the real
// `node-peer generate` CLI (stdout checked byte for byte).
const run = promisify(execFile);
const cases = goldenCases();
const work = mkdtempSync(join(tmpdir(), 'ringmesh-golden-'));
const packages = new Map<string, { dir: string; layers: number }>();
const engines: Record<'node' | 'wasm', Engine> = { node: new OrtNodeEngine({ threads: 1 }), wasm: new OrtWebEngine({ backend: 'wasm' }) };

beforeAll(async () => {
  for (const c of cases) {
    if (packages.has(c.model)) continue;
    const out = join(work, c.model.replace(/\.bin$/, ''));
    // A small piece size so each unit spans several verified pieces.
    const { manifest } = await convertLlama2c(join(MODELS_DIR, c.model), join(MODELS_DIR, c.tokenizer), out, { pieceSize: 64 * 1024 });
    packages.set(c.model, { dir: out, layers: manifest.architecture.numLayers });
  }
});

afterAll(async () => {
  await engines.node.dispose();
  await engines.wasm.dispose();
  rmSync(work, { recursive: true, force: true });
});

const splits = [
  { name: 'unsplit', stages: (_layers: number) => 1 },
  { name: 'split in 2', stages: (_layers: number) => 2 },
  { name: 'one stage per layer', stages: (layers: number) => layers },
];

describe.each(['node', 'wasm'] as const)('golden greedy on %s engine', (engineName) => {
  describe.each(splits)('$name', (split) => {
    it.each(cases.map((c, i) => ({ ...c, label: `${c.model} "${c.prompt}" (case ${i})` })))('$label', async (c) => {
      const pkg = packages.get(c.model);
      if (pkg === undefined) throw new Error(`${c.model} was not converted`);
      const stages = split.stages(pkg.layers);
      let streamed = '';
      const result = await localGenerate({
        modelDir: pkg.dir,
        prompt: c.prompt,
        engine: engines[engineName],
        pick: argmax,
        stages,
        steps: c.steps,
        onText: (t) => (streamed += t),
      });
      expect(result.ranges).toHaveLength(stages);
      expect(result.promptIds).toEqual(c.prompt_ids);
      expect(result.generatedIds).toEqual(c.generated_ids);
      expect(result.stopReason).toBe(c.generated_ids.at(-1) === 1 ? 'stop-id' : 'max-positions');
      expect(`${streamed}\n`).toBe(c.stdout);
    });
  });
});

describe('golden greedy through the real CLI process', () => {
  const bin = join(import.meta.dirname, '..', '..', '..', 'bin', 'node-peer.js');

  const cli = async (index: number, args: string[]): Promise<void> => {
    const c = cases[index];
    if (c === undefined) throw new Error(`golden case ${index} missing`);
    const { stdout } = await run(
      process.execPath,
      [bin, 'generate', '--model', packages.get(c.model)?.dir ?? '', '--prompt', c.prompt, '--steps', String(c.steps), '--threads', '1', ...args],
      { encoding: 'buffer' },
    );
    // Text and newline byte for byte: the same tokens, and the stop at the same place.
    expect(stdout.toString('utf8')).toBe(c.stdout);
    expect(Buffer.compare(stdout, Buffer.from(c.stdout, 'utf8'))).toBe(0);
  };

  // Every golden case × both engines × unsplit / split in 2 / one stage per layer, each its own
  // `node-peer generate` process.
  const combos = (['node', 'wasm'] as const).flatMap((engine) =>
    splits.flatMap((split) => cases.map((_, index) => ({ engine, split, index, label: `${engine}, ${split.name}, case ${index}` }))),
  );
  it.each(combos)("$label: stdout is run.c's byte for byte", async ({ engine, split, index }) => {
    const layers = packages.get(cases[index]?.model ?? '')?.layers ?? 0;
    await cli(index, ['--engine', engine, '--stages', String(split.stages(layers))]);
  });

  it('--split 1,3 (explicit layer counts) prints run.c stdout byte for byte', async () => {
    await cli(0, ['--split', '1,3']);
  });

  it('--json prints ids and text', async () => {
    const c = cases[1];
    if (c === undefined) throw new Error('golden case 1 missing');
    const { stdout } = await run(process.execPath, [
      bin,
      'generate',
      '--model',
      packages.get(c.model)?.dir ?? '',
      '--prompt',
      c.prompt,
      '--steps',
      String(c.steps),
      '--json',
    ]);
    const out = JSON.parse(stdout) as { promptIds: number[]; generatedIds: number[]; text: string };
    expect(out).toMatchObject({ promptIds: c.prompt_ids, generatedIds: c.generated_ids, text: c.stdout.slice(0, -1) });
  });

  it('a split that does not fit the model exits 1 with the typed error on stderr', async () => {
    const c = cases[2];
    if (c === undefined) throw new Error('golden case 2 missing');
    const child = run(process.execPath, [bin, 'generate', '--model', packages.get(c.model)?.dir ?? '', '--prompt', 'x', '--split', '2,2']);
    await expect(child).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('InvalidSplitError') as unknown });
  });
});
