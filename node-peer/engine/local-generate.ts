import type { Engine } from '../../shared/engine/engine.ts';
import type { LayerRange } from '../../shared/model/layer-range.ts';
import { generate, type GenerateResult, type PickToken } from '../../shared/generate/generate.ts';
import { evenRanges, rangesFromSplit } from '../../shared/generate/split.ts';
import { asSessionId } from '../../shared/ids.ts';
import { createTokenizer } from '../../shared/tokenizer/create-tokenizer.ts';
import { openModelPackage } from '../model/open-model-package.ts';
import { loadChain } from './load-chain.ts';

export interface LocalGenerateOptions {
  readonly modelDir: string;
  readonly prompt: string;
  readonly engine: Engine;
  readonly pick: PickToken;
  /** Layer counts per stage ("2,2"); wins over `stages`. Default: one stage. */
  readonly split?: string;
  readonly stages?: number;
  readonly maxTokens?: number;
  /** run.c's `-n`: positions in all, prompt included. */
  readonly steps?: number;
  readonly threads?: number;
  /** Receives printable text as it streams: the prompt's pieces first, then each token's. */
  readonly onText?: (text: string) => void;
}

export interface LocalGenerateResult extends GenerateResult {
  /** Everything `onText` received (what run.c prints, without its final newline). */
  readonly text: string;
  readonly ranges: readonly LayerRange[];
}

/**
 * Opens a package, loads its layers as a chain of stages on one engine, encodes the prompt and
 * generates — the whole `node-peer generate` minus argument parsing. Stages are disposed after.
 */
export async function localGenerate(o: LocalGenerateOptions): Promise<LocalGenerateResult> {
  const pkg = await openModelPackage(o.modelDir);
  const arch = pkg.manifest.architecture;
  const tokenizer = createTokenizer(pkg.manifest.tokenizer, await pkg.readTokenizer(), arch.vocabSize);
  const ranges: LayerRange[] = o.split !== undefined ? rangesFromSplit(o.split, arch.numLayers) : evenRanges(o.stages ?? 1, arch.numLayers);
  const promptIds = tokenizer.encode(o.prompt);
  const stages = await loadChain(o.engine, pkg, ranges, o.threads);
  let text = '';
  const emit = (s: string): void => {
    if (s.length === 0) return;
    text += s;
    o.onText?.(s);
  };
  try {
    const decoder = tokenizer.createDecoder();
    for (const id of promptIds) emit(decoder.push(id));
    const result = await generate(stages, arch.contextLength, {
      session: asSessionId(`local-${Date.now().toString(36)}`),
      promptIds,
      pick: o.pick,
      stopIds: tokenizer.eos,
      ...(o.maxTokens === undefined ? {} : { maxTokens: o.maxTokens }),
      ...(o.steps === undefined ? {} : { maxPositions: o.steps }),
      onToken: (id) => emit(decoder.push(id)),
    });
    emit(decoder.end());
    return { ...result, text, ranges };
  } finally {
    for (const s of stages) await s.dispose();
  }
}
