// `npm run bench -- engine [--shapes 110m,1b --dtype fp32,q8,q4 --engines node,wasm,wasm-fp32w
// --threads 2 --runs 5 --prefill N --decode N --splits 1]`: prefill and decode tokens/s of generated
// demo models on NodeEngine (CPU) and WebEngine-WASM at each weight dtype, and q8/q4 vs fp32 as
// ratios. Every chain (engine × dtype × split) is loaded at once and measured interleaved, decode
// step by decode step, so this shared machine's load hits all alike; each ratio is the median of
// per-run ratios, and every run's ratio is printed.
//   shapes: 110m = 12 × 768, 12 heads, vocab 32000 (--layers/--hidden/--heads/--vocab override);
//           1b = Llama-3.2-1B (2048, 8192, 16 layers, 32/8 heads, vocab 128256, llama3 RoPE);
//           defaults prefill 128 / decode 32 / 5 runs for 110m, 32 / 16 / 3 for 1b.
//   engines: 'wasm' runs q8/q4 as MatMulNBits; 'wasm-fp32w' widens them to fp32 at load
//           (OrtWebEngine linearWeights 'fp32'); 'kernel' is ringmesh's own WASM SIMD q8/q4 engine
//           (KernelEngine, q8/q4 only, one thread). WASM chains over a 3 GiB heap budget are skipped.
//   targets: Node q4 decode ≥ 2.5× fp32, q8 ≥ 1.6×; WASM's fastest quantized ≥ 0.5× Node q4.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeDemoModel, type DemoModelShape } from '../node-peer/convert/demo-model.ts';
import { loadChain } from '../node-peer/engine/load-chain.ts';
import { OrtNodeEngine } from '../node-peer/engine/ort-node-engine.ts';
import { eagerWasmTierUp } from '../node-peer/engine/wasm-tiering.ts';
import { openModelPackage, type ModelPackage } from '../node-peer/model/open-model-package.ts';
import type { Engine } from '../shared/engine/engine.ts';
import { evenRanges } from '../shared/generate/split.ts';
import type { ModelManifest, WeightDType } from '../shared/model/manifest.ts';
import { OrtWebEngine } from '../shared/engine/ort-web-engine.ts';
import { KernelEngine } from '../shared/engine/kernel/kernel-engine.ts';
import { nodeKernelThreadSpawner } from '../node-peer/engine/kernel-thread-spawner.ts';
import { fmtRatio, fmtRuns, measureRound, ratioTo, type Chain } from './_engine-measure.ts';
import { median, printTable, writeResults, type Row } from './_report.ts';
import { LLAMA_32_1B_SHAPE } from '../test/util/q4-1b-package.ts';

const { values: a } = parseArgs({
  options: {
    shapes: { type: 'string', default: '110m,1b' },
    layers: { type: 'string' },
    hidden: { type: 'string' },
    heads: { type: 'string' },
    vocab: { type: 'string' },
    prefill: { type: 'string' },
    decode: { type: 'string' },
    runs: { type: 'string' },
    threads: { type: 'string', default: '2' },
    dtype: { type: 'string', default: 'fp32,q8,q4' },
    engines: { type: 'string', default: 'node,wasm,wasm-fp32w,kernel' },
    splits: { type: 'string', default: '1' },
  },
});
const threads = Number(a.threads);
const list = (v: string | undefined): string[] =>
  (v ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
const opt = (v: string | undefined, fallback: number): number => (v === undefined ? fallback : Number(v));

interface Preset {
  shape: DemoModelShape;
  prefill: number;
  decode: number;
  runs: number;
}
const PRESETS: Record<string, Preset> = {
  '110m': {
    shape: { layers: opt(a.layers, 12), hidden: opt(a.hidden, 768), heads: opt(a.heads, 12), vocab: opt(a.vocab, 32000), context: 1024, seed: 1 },
    prefill: 128,
    decode: 32,
    runs: 5,
  },
  '1b': {
    shape: { ...LLAMA_32_1B_SHAPE, context: 1024, seed: 1 },
    prefill: 32,
    decode: 16,
    runs: 3,
  },
};

/** onnxruntime-web is 32-bit WASM: all its sessions share one heap of at most 4 GiB. */
const WASM_HEAP_BUDGET = 3 * 2 ** 30;
const WIDENED = 'wasm-fp32w';
const KERNEL = 'kernel';

/** Weight bytes a chain holds in its engine: stored bytes, or fp32 for linear weights widened at load. */
function engineBytes(m: ModelManifest, engine: string): number {
  const widened = (t: ModelManifest['tensors'][number]): boolean => engine === WIDENED && (t.dtype === 'q8' || t.dtype === 'q4') && t.name !== 'embed.weight';
  return m.tensors.reduce((s, t) => s + (widened(t) ? (t.shape[0] ?? 0) * (t.shape[1] ?? 0) * 4 : t.bytes), 0);
}

function makeEngine(name: string): Engine {
  if (name === 'node') return new OrtNodeEngine({ threads });
  eagerWasmTierUp();
  if (name === KERNEL) return new KernelEngine({ threads, spawner: nodeKernelThreadSpawner }); // measure onnxruntime-web's kernels tiered up, not V8's baseline code (wasm-tiering.ts)
  return new OrtWebEngine({ backend: 'wasm', threads, ...(name === WIDENED ? { linearWeights: 'fp32' as const } : {}) });
}

const load = (): string =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const allResults: unknown[] = [];
for (const shapeName of list(a.shapes)) {
  const preset = PRESETS[shapeName];
  if (preset === undefined) throw new Error(`unknown shape ${shapeName} (110m, 1b)`);
  const prefillTokens = opt(a.prefill, preset.prefill);
  const decodeTokens = opt(a.decode, preset.decode);
  const runs = opt(a.runs, preset.runs);
  const work = mkdtempSync(join(os.tmpdir(), 'ringmesh-bench-engine-'));
  const engines = new Map<string, Engine>();
  const chains: Chain[] = [];
  const skipped: string[] = [];
  try {
    const pkgs = new Map<string, ModelPackage>();
    for (const dtype of list(a.dtype)) {
      const t = performance.now();
      await writeDemoModel(join(work, dtype), preset.shape, { dtype: dtype as WeightDType });
      pkgs.set(dtype, await openModelPackage(join(work, dtype)));
      console.log(`${shapeName} ${dtype}: written in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
    const first = [...pkgs.values()][0];
    if (first === undefined) throw new Error('no --dtype');
    const m0 = first.manifest;
    const params = m0.tensors
      .filter((x) => !(m0.architecture.tiedEmbeddings && x.name === 'lm_head.weight'))
      .reduce((s, x) => s + x.shape.reduce((p, d) => p * d, 1), 0);
    const numLayers = m0.architecture.numLayers;
    const splits = list(a.splits)
      .map(Number)
      .filter((k) => k >= 1 && k <= numLayers);
    let wasmBytes = 0;
    for (const engine of list(a.engines)) {
      for (const [dtype, pkg] of pkgs) {
        if ((engine === WIDENED || engine === KERNEL) && dtype !== 'q8' && dtype !== 'q4') continue; // nothing to widen / q8, q4 only
        const bytes = engineBytes(pkg.manifest, engine);
        if (engine !== 'node' && wasmBytes + bytes > WASM_HEAP_BUDGET) {
          skipped.push(
            `${engine} ${dtype}: ${(bytes / 2 ** 30).toFixed(2)} GiB of weights would pass the WASM heap budget (${(wasmBytes / 2 ** 30).toFixed(2)} GiB loaded of ${WASM_HEAP_BUDGET / 2 ** 30})`,
          );
          continue;
        }
        const e = engines.get(engine) ?? makeEngine(engine);
        engines.set(engine, e);
        for (const sessions of splits) {
          const t = performance.now();
          const stages = await loadChain(e, pkg, evenRanges(sessions, numLayers), threads);
          chains.push({ engine, dtype, sessions, loadS: (performance.now() - t) / 1000, stages, runs: [] });
          if (engine !== 'node') wasmBytes += bytes;
          console.log(
            `  loaded ${engine} ${dtype} × ${sessions} in ${((performance.now() - t) / 1000).toFixed(1)} s (${(bytes / 2 ** 30).toFixed(2)} GiB weights)`,
          );
        }
      }
    }
    for (const s of skipped) console.log(`  skipped ${s}`);
    const loadBefore = load();
    const find = (engine: string, dtype: string, sessions: number): Chain | undefined =>
      chains.find((c) => c.engine === engine && c.dtype === dtype && c.sessions === sessions);
    for (let r = 0; r < runs; r++) {
      await measureRound(chains, { prefillTokens, decodeTokens, vocab: m0.architecture.vocabSize }, r);
      const line = chains.map((c) => {
        const m = c.runs[r];
        const fp32 = find(c.engine === WIDENED || c.engine === KERNEL ? 'wasm' : c.engine, 'fp32', c.sessions);
        const ratio = fp32 === undefined || c === fp32 ? '' : ` (${((m?.decodeTps ?? 0) / (fp32.runs[r]?.decodeTps ?? Number.NaN)).toFixed(2)}× fp32)`;
        return `${c.engine} ${c.dtype}×${c.sessions} ${m?.prefillTps.toFixed(1)}/${m?.decodeTps.toFixed(2)}${ratio}`;
      });
      console.log(`  ${shapeName} run ${r + 1} (load ${load()}), prefill/decode tok/s: ${line.join(' | ')}`);
    }
    const loadAfter = load();

    const rows: Row[] = chains.map((c) => {
      const fp32 = find(c.engine === WIDENED || c.engine === KERNEL ? 'wasm' : c.engine, 'fp32', c.sessions);
      const vsFp32 = c.dtype === 'fp32' ? null : ratioTo(c, fp32, 'decodeTps');
      return {
        engine: c.engine,
        dtype: c.dtype,
        sessions: c.sessions,
        'load s': c.loadS,
        'prefill tok/s': median(c.runs.map((m) => m.prefillTps)),
        'decode tok/s': median(c.runs.map((m) => m.decodeTps)),
        'decode vs fp32': fmtRatio(vsFp32),
        'per run': fmtRuns(vsFp32),
        'prefill vs fp32': fmtRatio(c.dtype === 'fp32' ? null : ratioTo(c, fp32, 'prefillTps')),
        'decode vs node fp32': fmtRatio(ratioTo(c, find('node', 'fp32', c.sessions), 'decodeTps')),
        'decode vs node q4': fmtRatio(ratioTo(c, find('node', 'q4', c.sessions), 'decodeTps')),
        'vs node q4 per run': fmtRuns(ratioTo(c, find('node', 'q4', c.sessions), 'decodeTps')),
      };
    });
    const title = `engine ${shapeName}: ${(params / 1e6).toFixed(0)}M params, prefill ${prefillTokens}, decode ${decodeTokens} tokens, ${threads} threads, median of ${runs} (load avg ${loadBefore} → ${loadAfter})`;
    printTable(title, rows);
    const targets = targetLines(chains, find);
    for (const t of targets) console.log(`  ${t}`);
    allResults.push({
      shapeName,
      shape: preset.shape,
      params,
      prefillTokens,
      decodeTokens,
      runs,
      threads,
      loadBefore,
      loadAfter,
      skipped,
      targets,
      rows,
      raw: chains.map((c) => ({ engine: c.engine, dtype: c.dtype, sessions: c.sessions, loadS: c.loadS, runs: c.runs })),
    });
  } finally {
    for (const c of chains) for (const s of c.stages) await s.dispose();
    for (const e of engines.values()) await e.dispose();
    rmSync(work, { recursive: true, force: true });
  }
}
writeResults('engine', { dtypes: list(a.dtype), engines: list(a.engines), threads, cpus: os.cpus().length, results: allResults });

/** The targets this bench reports against, on the unsplit chains. */
function targetLines(chains: readonly Chain[], find: (e: string, d: string, s: number) => Chain | undefined): string[] {
  const out: string[] = [];
  const check = (what: string, r: ReturnType<typeof ratioTo>, min: number): void => {
    if (r !== null)
      out.push(`${what}: ${r.median.toFixed(3)} (target ≥ ${min}) ${r.median >= min ? 'MET' : 'NOT MET'} [runs ${r.runs.map((v) => v.toFixed(2)).join(' ')}]`);
  };
  const nodeFp32 = find('node', 'fp32', 1);
  const nodeQ4 = find('node', 'q4', 1);
  const nq8 = find('node', 'q8', 1);
  if (nodeQ4 !== undefined) check('node q4 decode vs node fp32', ratioTo(nodeQ4, nodeFp32, 'decodeTps'), 2.5);
  if (nq8 !== undefined) check('node q8 decode vs node fp32', ratioTo(nq8, nodeFp32, 'decodeTps'), 1.6);
  const wasmQuant = chains.filter((c) => c.engine !== 'node' && c.sessions === 1 && c.dtype !== 'fp32');
  const best = wasmQuant.sort((x, y) => median(y.runs.map((m) => m.decodeTps)) - median(x.runs.map((m) => m.decodeTps)))[0];
  if (best !== undefined) check(`fastest WASM quantized (${best.engine} ${best.dtype}) decode vs node q4`, ratioTo(best, nodeQ4, 'decodeTps'), 0.5);
  return out;
}
