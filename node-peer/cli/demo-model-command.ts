import type { Command } from 'commander';
import type { WeightDType } from '../../shared/model/manifest.ts';
import { writeDemoModel } from '../convert/demo-model.ts';
import { parseDType, parsePositiveInt, parseSeed, reportErrors } from './convert-command.ts';

interface DemoOptions {
  layers: number;
  hidden: number;
  heads: number;
  kvHeads?: number;
  vocab: number;
  intermediate?: number;
  context: number;
  seed: number;
  dtype: WeightDType;
  pieceSize?: number;
  untied?: boolean;
}

/** `node-peer demo-model <out-dir>`: a seeded random model with a byte-level tokenizer. */
export function registerDemoModelCommand(program: Command): void {
  program
    .command('demo-model')
    .description('write a seeded random Llama-shaped model with a byte-level tokenizer (demo and benchmarks)')
    .argument('<out-dir>', 'new directory for the package (must not exist or be empty)')
    .option('--layers <n>', 'transformer layers', parsePositiveInt, 4)
    .option('--hidden <n>', 'hidden size', parsePositiveInt, 64)
    .option('--heads <n>', 'attention heads', parsePositiveInt, 4)
    .option('--kv-heads <n>', 'key/value heads (default: heads)', parsePositiveInt)
    .option('--vocab <n>', 'vocabulary size (≥ 259)', parsePositiveInt, 512)
    .option('--intermediate <n>', 'MLP size (default 8/3 × hidden, rounded up to 32)', parsePositiveInt)
    .option('--context <n>', 'context length', parsePositiveInt, 2048)
    .option('--seed <n>', 'random seed', parseSeed, 0)
    .option('--dtype <dtype>', 'weight storage dtype: fp32, fp16, q8 or q4', parseDType, 'fp32')
    .option('--piece-size <bytes>', 'piece size in bytes (default 4 MiB)', parsePositiveInt)
    .option('--untied', 'store a separate random classifier instead of tying it to the embedding')
    .action(
      reportErrors(async (outDir: string, o: DemoOptions) => {
        const { manifest, modelId } = await writeDemoModel(
          outDir,
          {
            layers: o.layers,
            hidden: o.hidden,
            heads: o.heads,
            vocab: o.vocab,
            context: o.context,
            seed: o.seed,
            tied: o.untied !== true,
            ...(o.kvHeads === undefined ? {} : { kvHeads: o.kvHeads }),
            ...(o.intermediate === undefined ? {} : { intermediate: o.intermediate }),
          },
          { dtype: o.dtype, ...(o.pieceSize === undefined ? {} : { pieceSize: o.pieceSize }) },
        );
        const params = manifest.tensors
          .filter((t) => t.unit !== 'head' || !manifest.architecture.tiedEmbeddings || t.name !== 'lm_head.weight')
          .reduce((n, t) => n + t.shape.reduce((p, d) => p * d, 1), 0);
        process.stdout.write(`${outDir}: ${manifest.name}, ${(params / 1e6).toFixed(1)}M parameters, ${manifest.dtype}\nmodel id ${modelId}\n`);
      }),
    );
}
