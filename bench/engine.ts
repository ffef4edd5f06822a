// `npm run bench -- engine [--layers 12 --hidden 768 --heads 12 --vocab 32000 --prefill 128
// --decode 32 --runs 3 --threads 2 --dtype fp32]`: prefill and decode tokens/s of a generated
// ~100M-parameter demo model on NodeEngine vs WebEngine-WASM, and decode tokens/s with the layers
// split into 1, 2 and 4 sessions (as ring stages would be) on both engines, ratio to unsplit
// (target: split overhead ≤ 5% on decode). Medians of --runs, the splits measured round-robin.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeDemoModel } from '../node-peer/convert/demo-model.ts';
import { loadChain } from '../node-peer/engine/load-chain.ts';
import { OrtNodeEngine } from '../node-peer/engine/ort-node-engine.ts';
import { openModelPackage, type ModelPackage } from '../node-peer/model/open-model-package.ts';
import type { Engine, Stage } from '../shared/engine/engine.ts';
import { evenRanges } from '../shared/generate/split.ts';
import { runChain } from '../shared/generate/stage-chain.ts';
import { asSessionId } from '../shared/ids.ts';
import type { WeightDType } from '../shared/model/manifest.ts';
import { OrtWebEngine } from '../web-peer/engine/ort-web-engine.ts';
import { median, printTable, writeResults, type Row } from './_report.ts';

const { values: a } = parseArgs({
  options: {
    layers: { type: 'string', default: '12' },
    hidden: { type: 'string', default: '768' },
    heads: { type: 'string', default: '12' },
    vocab: { type: 'string', default: '32000' },
    prefill: { type: 'string', default: '128' },
    decode: { type: 'string', default: '32' },
    runs: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    dtype: { type: 'string', default: 'fp32' },
  },
});
const n = (v: string | undefined): number => Number(v);
const prefillTokens = n(a.prefill);
const decodeTokens = n(a.decode);
const runs = n(a.runs);
const threads = n(a.threads);

interface Measure {
  prefillTps: number;
  decodeTps: number;
}

/** One fresh session through a chain: prefill tokens/s and decode tokens/s. */
async function measureOnce(stages: Stage[], vocab: number, r: number): Promise<Measure> {
  const session = asSessionId(`bench-${r}`);
  const prompt = Array.from({ length: prefillTokens }, (_, i) => 3 + ((i * 7919 + r) % (vocab - 3)));
  let t = performance.now();
  await runChain(stages, session, prompt);
  const prefillTps = prefillTokens / ((performance.now() - t) / 1000);
  t = performance.now();
  for (let i = 0; i < decodeTokens; i++) await runChain(stages, session, [3 + (i % 100)]);
  const decodeTps = decodeTokens / ((performance.now() - t) / 1000);
  for (const s of stages) s.freeSession(session);
  return { prefillTps, decodeTps };
}

/**
 * Loads the chains for every split of one engine at once, then runs them round-robin (run r of
 * each split before run r + 1 of any): on this shared machine the load changes by the minute,
 * and interleaving lets every split see the same conditions. Medians of `runs`.
 */
async function measureEngine(engine: Engine, pkg: ModelPackage, splits: readonly number[]): Promise<Array<Measure & { sessions: number; loadS: number }>> {
  const chains: Array<{ sessions: number; loadS: number; stages: Stage[]; runs: Measure[] }> = [];
  try {
    for (const sessions of splits) {
      const t = performance.now();
      const stages = await loadChain(engine, pkg, evenRanges(sessions, pkg.manifest.architecture.numLayers), threads);
      chains.push({ sessions, loadS: (performance.now() - t) / 1000, stages, runs: [] });
    }
    for (let r = 0; r < runs; r++) {
      for (const c of chains) {
        const m = await measureOnce(c.stages, pkg.manifest.architecture.vocabSize, r);
        c.runs.push(m);
        console.log(`  ${engine.kind} × ${c.sessions} run ${r + 1}: prefill ${m.prefillTps.toFixed(1)} tok/s, decode ${m.decodeTps.toFixed(2)} tok/s`);
      }
    }
    return chains.map((c) => ({
      sessions: c.sessions,
      loadS: c.loadS,
      prefillTps: median(c.runs.map((m) => m.prefillTps)),
      decodeTps: median(c.runs.map((m) => m.decodeTps)),
    }));
  } finally {
    for (const c of chains) for (const s of c.stages) await s.dispose();
  }
}

const work = mkdtempSync(join(tmpdir(), 'ringmesh-bench-engine-'));
try {
  const shape = { layers: n(a.layers), hidden: n(a.hidden), heads: n(a.heads), vocab: n(a.vocab), context: 1024, seed: 1 };
  const t = performance.now();
  const { manifest } = await writeDemoModel(join(work, 'model'), shape, { dtype: a.dtype as WeightDType });
  const params = manifest.tensors.filter((x) => !(manifest.architecture.tiedEmbeddings && x.name === 'lm_head.weight')).reduce((s, x) => s + x.shape.reduce((p, d) => p * d, 1), 0);
  console.log(`demo model ${manifest.name}: ${(params / 1e6).toFixed(1)}M parameters, ${a.dtype}, written in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const pkg = await openModelPackage(join(work, 'model'));

  const results: Row[] = [];
  const node = new OrtNodeEngine({ threads });
  const wasm = new OrtWebEngine({ backend: 'wasm', threads });
  const splits = [1, 2, 4].filter((k) => k <= manifest.architecture.numLayers);
  let nodeUnsplit = Number.NaN;
  for (const [name, engine] of [['node', node], ['wasm', wasm]] as const) {
    const measured = await measureEngine(engine, pkg, splits);
    const unsplit = measured.find((m) => m.sessions === 1)?.decodeTps ?? Number.NaN;
    if (name === 'node') nodeUnsplit = unsplit;
    for (const m of measured) {
      results.push({
        engine: name,
        sessions: m.sessions,
        'load s': m.loadS,
        'prefill tok/s': m.prefillTps,
        'decode tok/s': m.decodeTps,
        'decode vs unsplit': m.decodeTps / unsplit,
        'split overhead': `${(100 * (1 - m.decodeTps / unsplit)).toFixed(1)}%`,
        'decode vs node unsplit': m.decodeTps / nodeUnsplit,
      });
    }
    await engine.dispose();
  }
  printTable(`engine: ${(params / 1e6).toFixed(0)}M params, prefill ${prefillTokens} tokens, decode ${decodeTokens} tokens, ${threads} threads, median of ${runs}`, results);
  writeResults('engine', { shape, dtype: a.dtype, params, prefillTokens, decodeTokens, runs, threads, results });
} finally {
  rmSync(work, { recursive: true, force: true });
}
