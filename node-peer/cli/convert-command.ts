import { InvalidArgumentError, type Command } from 'commander';
import type { WeightDType } from '../../shared/model/manifest.ts';
import { RingmeshError } from '../../shared/errors.ts';
import { convertModel } from '../convert/convert-model.ts';

/** `node-peer convert <src> <out-dir>`: llama2.c checkpoint, GGUF file or Hugging Face directory → model package. */
export function registerConvertCommand(program: Command): void {
  program
    .command('convert')
    .description('convert a llama2.c checkpoint (with --tokenizer), a llama GGUF file or a Hugging Face checkpoint directory into a ringmesh model package')
    .argument(
      '<src>',
      'llama2.c checkpoint file, GGUF file (llama; F32/F16/Q8_0/Q4_0 tensors), or Hugging Face directory (config.json, *.safetensors, tokenizer.json)',
    )
    .argument('<out-dir>', 'new directory for the package (must not exist or be empty)')
    .option('--tokenizer <file>', 'llama2.c tokenizer.bin (llama2.c checkpoints only)')
    .option('--dtype <dtype>', 'weight storage dtype: fp32, fp16, q8 or q4 (block-32 quantized layer weights; see docs/model-package.md)', parseDType, 'fp32')
    .option('--piece-size <bytes>', 'piece size in bytes (default 4 MiB)', parsePositiveInt)
    .option('--name <name>', 'model name in the manifest')
    .action(
      reportErrors(async (src: string, outDir: string, opts: { tokenizer?: string; dtype: WeightDType; pieceSize?: number; name?: string }) => {
        const { manifest, modelId } = await convertModel(src, outDir, opts);
        const a = manifest.architecture;
        process.stdout.write(
          `${outDir}: ${manifest.name}, ${a.numLayers} layers, hidden ${a.hiddenSize}, vocab ${a.vocabSize}, ${manifest.dtype}, ` +
            `${manifest.units.length} units, ${manifest.units.reduce((n, u) => n + u.pieces.length, 0)} pieces\nmodel id ${modelId}\n`,
        );
      }),
    );
}

export function parseDType(value: string): WeightDType {
  if (value !== 'fp32' && value !== 'fp16' && value !== 'q8' && value !== 'q4') throw new InvalidArgumentError('expected fp32, fp16, q8 or q4');
  return value;
}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

export function parseSeed(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0 || n > 0xffffffff) throw new InvalidArgumentError('expected an integer in 0..4294967295');
  return n;
}

/**
 * CLI edge: a RingmeshError becomes one line on stderr (`error: <Name>: <message>`) and exit code 1;
 * anything else is a bug and keeps its stack.
 */
export function reportErrors<A extends unknown[]>(action: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await action(...args);
    } catch (err) {
      if (!(err instanceof RingmeshError)) throw err;
      process.stderr.write(`error: ${err.name}: ${err.message}\n`);
      process.exitCode = 1;
    }
  };
}
