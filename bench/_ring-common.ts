// Pieces the ring benches share (bench/_ring-main.ts, bench/_wan-main.ts): the generated demo
// model and its one-process baseline, the prompts, how decode tokens/s are measured, and the
// rotation that lets configurations take turns within each run.
import { writeDemoModel, type DemoModelShape } from '../node-peer/convert/demo-model.ts';
import { loadChain } from '../node-peer/engine/load-chain.ts';
import { OrtNodeEngine } from '../node-peer/engine/ort-node-engine.ts';
import { openModelPackage } from '../node-peer/model/open-model-package.ts';
import type { Stage } from '../shared/engine/engine.ts';
import { runChain } from '../shared/generate/stage-chain.ts';
import { asSessionId } from '../shared/ids.ts';
import type { WeightDType } from '../shared/model/manifest.ts';
import { pickStepToken } from '../shared/ring/step-sampler.ts';

export const GREEDY = { temperature: 0, topP: 1, topK: 0, seed: 0 };

/** Prompt `r` of `length` ids, different per run, valid for `vocab`. */
export const benchPrompt = (length: number, r: number, vocab: number): number[] =>
  Array.from({ length }, (_, i) => 3 + ((i * 7919 + r * 104729) % (vocab - 3)));

/** Decode tokens/s from token arrival times (the first token ends the prefill). */
export const decodeRate = (times: readonly number[]): number => (times.length - 1) / (((times.at(-1) as number) - (times[0] as number)) / 1000);

/** Turn `r` of a rotation: each run starts with a different configuration. */
export const rotate = <T>(xs: readonly T[], r: number): T[] => xs.map((_, i) => xs[(i + r) % xs.length] as T);

export const mean = (xs: readonly number[]): number => xs.reduce((x, y) => x + y, 0) / xs.length;

export interface DemoModel {
  readonly dir: string;
  readonly vocab: number;
  readonly numLayers: number;
  readonly params: number;
}

/** Writes the generated demo model (context 1024, seed 1) to `dir`. */
export async function writeBenchModel(dir: string, shape: Omit<DemoModelShape, 'context' | 'seed'>, dtype: WeightDType): Promise<DemoModel> {
  const { manifest } = await writeDemoModel(dir, { ...shape, context: 1024, seed: 1 }, { dtype });
  const params = manifest.tensors
    .filter((x) => !(manifest.architecture.tiedEmbeddings && x.name === 'lm_head.weight'))
    .reduce((s, x) => s + x.shape.reduce((p, d) => p * d, 1), 0);
  return { dir, vocab: manifest.architecture.vocabSize, numLayers: manifest.architecture.numLayers, params };
}

/** The baseline: the whole model as one stage in this process, `threads` intra-op threads. */
export class OneProcess {
  private constructor(
    private readonly engine: OrtNodeEngine,
    readonly stage: Stage,
  ) {}

  static async load(model: DemoModel, threads: number): Promise<OneProcess> {
    const engine = new OrtNodeEngine({ threads });
    const [whole] = await loadChain(engine, await openModelPackage(model.dir), [{ start: 0, end: model.numLayers }], threads);
    return new OneProcess(engine, whole as Stage);
  }

  /** Greedy decode of `decodeTokens` after `prompt`: decode tokens/s and CPU ms per token (prefill included). */
  async decode(prompt: readonly number[], decodeTokens: number, name: string): Promise<{ rate: number; cpuPerToken: number }> {
    const session = asSessionId(name);
    const cpu = process.cpuUsage();
    let token = pickStepToken(await runChain([this.stage], session, [...prompt]), GREEDY, 0);
    const t = performance.now();
    for (let i = 1; i <= decodeTokens; i++) token = pickStepToken(await runChain([this.stage], session, [token]), GREEDY, i);
    const rate = decodeTokens / ((performance.now() - t) / 1000);
    const used = process.cpuUsage(cpu);
    this.stage.freeSession(session);
    return { rate, cpuPerToken: (used.user + used.system) / 1000 / (decodeTokens + 1) };
  }

  dispose(): Promise<void> {
    return this.engine.dispose();
  }
}
