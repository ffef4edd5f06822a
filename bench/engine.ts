// `npm run bench -- engine [--layers 12 --hidden 768 --heads 12 --vocab 32000 --prefill 128
// --decode 32 --runs 5 --threads 2 --dtype fp32]`: prefill and decode tokens/s of a generated
// ~100M-parameter demo model on NodeEngine vs WebEngine-WASM, and decode tokens/s with the layers
// split into 1, 2 and 4 sessions (as ring stages would be) on both engines, ratio to unsplit
// (target: split overhead ≤ 5% on decode). Medians of --runs; the splits are measured interleaved,
// decode step by decode step, and each ratio is the median of per-run ratios (this machine is
// shared: its load changes faster than a run takes). [--engines node,wasm --splits 1,2,4]
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
    runs: { type: 'string', default: '5' },
    threads: { type: 'string', default: '2' },
    dtype: { type: 'string', default: 'fp32' },
    engines: { type: 'string', default: 'node,wasm' },
    splits: { type: 'string', default: '1,2,4' },
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

interface Chain {
  sessions: number;
  loadS: number;
  stages: Stage[];
  runs: Measure[];
}

/** The chains in a rotated order: which split goes first changes from step to step. */
const rotated = <T>(xs: readonly T[], by: number): T[] => xs.map((_, i) => xs[(i + by) % xs.length] as T);

/**
 * One run: a fresh session through every chain. Prefill, then decode step by step with every
 * chain taking each step before any takes the next (in rotating order), so that on this shared
 * machine, where the load changes by the second, each split sees the same conditions.
 */
async function measureRound(chains: readonly Chain[], vocab: number, r: number): Promise<void> {
  const session = asSessionId(`bench-${r}`);
  const prompt = Array.from({ length: prefillTokens }, (_, i) => 3 + ((i * 7919 + r) % (vocab - 3)));
  const prefillMs = new Map<Chain, number>();
  const decodeMs = new Map<Chain, number>(chains.map((c) => [c, 0]));
  for (const c of rotated(chains, r)) {
    const t = performance.now();
    await runChain(c.stages, session, prompt);
    prefillMs.set(c, performance.now() - t);
  }
  for (let i = 0; i < decodeTokens; i++) {
    for (const c of rotated(chains, r + i)) {
      const t = performance.now();
      await runChain(c.stages, session, [3 + (i % 100)]);
      decodeMs.set(c, (decodeMs.get(c) ?? 0) + performance.now() - t);
    }
  }
  for (const c of chains) {
    for (const s of c.stages) s.freeSession(session);
    c.runs.push({ prefillTps: prefillTokens / ((prefillMs.get(c) ?? 0) / 1000), decodeTps: decodeTokens / ((decodeMs.get(c) ?? 0) / 1000) });
  }
}

interface EngineResult extends Measure {
  sessions: number;
  loadS: number;
  /** Median over runs of this split's decode tokens/s divided by the unsplit one's in the same run. */
  decodeRatio: number;
  decodeRatioMin: number;
  decodeRatioMax: number;
}

/** Loads a chain for every split of one engine, then measures them interleaved; medians of `runs`. */
async function measureEngine(engine: Engine, pkg: ModelPackage, splits: readonly number[]): Promise<EngineResult[]> {
  const chains: Chain[] = [];
  try {
    for (const sessions of splits) {
      const t = performance.now();
      const stages = await loadChain(engine, pkg, evenRanges(sessions, pkg.manifest.architecture.numLayers), threads);
      chains.push({ sessions, loadS: (performance.now() - t) / 1000, stages, runs: [] });
    }
    for (let r = 0; r < runs; r++) {
      await measureRound(chains, pkg.manifest.architecture.vocabSize, r);
      for (const c of chains) {
        const m = c.runs[r] as Measure;
        console.log(`  ${engine.kind} × ${c.sessions} run ${r + 1}: prefill ${m.prefillTps.toFixed(1)} tok/s, decode ${m.decodeTps.toFixed(2)} tok/s`);
      }
    }
    const base = chains.find((c) => c.sessions === 1);
    return chains.map((c) => {
      const ratios = c.runs.map((m, r) => m.decodeTps / (base?.runs[r]?.decodeTps ?? Number.NaN));
      return {
        sessions: c.sessions,
        loadS: c.loadS,
        prefillTps: median(c.runs.map((m) => m.prefillTps)),
        decodeTps: median(c.runs.map((m) => m.decodeTps)),
        decodeRatio: median(ratios),
        decodeRatioMin: Math.min(...ratios),
        decodeRatioMax: Math.max(...ratios),
      };
    });
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
  const engineNames = (a.engines ?? '').split(',').filter((x): x is 'node' | 'wasm' => x === 'node' || x === 'wasm');
  const splits = (a.splits ?? '').split(',').map(Number).filter((k) => k >= 1 && k <= manifest.architecture.numLayers);
  if (!splits.includes(1)) splits.unshift(1); // the ratios need the unsplit chain
  let nodeUnsplit = Number.NaN;
  for (const name of engineNames) {
    const engine = name === 'node' ? new OrtNodeEngine({ threads }) : new OrtWebEngine({ backend: 'wasm', threads });
    try {
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
          'decode vs unsplit': m.decodeRatio,
          'ratio range': `${m.decodeRatioMin.toFixed(3)}–${m.decodeRatioMax.toFixed(3)}`,
          'split overhead': `${(100 * (1 - m.decodeRatio)).toFixed(1)}%`,
          'decode vs node unsplit': m.decodeTps / nodeUnsplit,
        });
      }
    } finally {
      await engine.dispose();
    }
  }
  printTable(`engine: ${(params / 1e6).toFixed(0)}M params, prefill ${prefillTokens} tokens, decode ${decodeTokens} tokens, ${threads} threads, median of ${runs}`, results);
  writeResults('engine', { shape, dtype: a.dtype, params, prefillTokens, decodeTokens, runs, threads, results });
} finally {
  rmSync(work, { recursive: true, force: true });
}
