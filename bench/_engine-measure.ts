// Interleaved measurement for bench/engine.ts: every chain (engine × dtype × split) takes each
// decode step before any takes the next, in an order that rotates, so load changes on this shared
// machine hit all of them alike; ratios are taken per run and their median reported.
import type { Stage } from '../shared/engine/engine.ts';
import { runChain } from '../shared/generate/stage-chain.ts';
import { asSessionId } from '../shared/ids.ts';
import { median } from './_report.ts';

export interface Measure {
  prefillTps: number;
  decodeTps: number;
}

export interface Chain {
  /** 'node', 'wasm', 'wasm-fp32w' (WASM with q8/q4 linear weights widened at load). */
  engine: string;
  dtype: string;
  sessions: number;
  loadS: number;
  stages: Stage[];
  runs: Measure[];
}

export interface RoundSpec {
  prefillTokens: number;
  decodeTokens: number;
  vocab: number;
}

/** The chains in a rotated order: which chain goes first changes from step to step. */
const rotated = <T>(xs: readonly T[], by: number): T[] => xs.map((_, i) => xs[(i + by) % xs.length] as T);

/** One run: a fresh session through every chain, prefill then decode, interleaved step by step. */
export async function measureRound(chains: readonly Chain[], spec: RoundSpec, r: number): Promise<void> {
  const session = asSessionId(`bench-${r}`);
  const prompt = Array.from({ length: spec.prefillTokens }, (_, i) => 3 + ((i * 7919 + r) % (spec.vocab - 3)));
  const prefillMs = new Map<Chain, number>();
  const decodeMs = new Map<Chain, number>(chains.map((c) => [c, 0]));
  for (const c of rotated(chains, r)) {
    const t = performance.now();
    await runChain(c.stages, session, prompt);
    prefillMs.set(c, performance.now() - t);
  }
  for (let i = 0; i < spec.decodeTokens; i++) {
    for (const c of rotated(chains, r + i)) {
      const t = performance.now();
      await runChain(c.stages, session, [3 + (i % 100)]);
      decodeMs.set(c, (decodeMs.get(c) ?? 0) + performance.now() - t);
    }
  }
  for (const c of chains) {
    for (const s of c.stages) s.freeSession(session);
    c.runs.push({
      prefillTps: spec.prefillTokens / ((prefillMs.get(c) ?? 0) / 1000),
      decodeTps: spec.decodeTokens / ((decodeMs.get(c) ?? 0) / 1000),
    });
  }
}

/** Per-run ratios of one metric of `c` to the same metric of `base`, with their median. */
export interface Ratio {
  median: number;
  runs: number[];
}

export function ratioTo(c: Chain, base: Chain | undefined, metric: keyof Measure): Ratio | null {
  if (base === undefined) return null;
  const runs = c.runs.map((m, r) => m[metric] / (base.runs[r]?.[metric] ?? Number.NaN));
  return { median: median(runs), runs };
}

export const fmtRatio = (x: Ratio | null): string => (x === null ? '–' : x.median.toFixed(3));
export const fmtRuns = (x: Ratio | null): string => (x === null ? '–' : x.runs.map((v) => v.toFixed(2)).join(' '));
