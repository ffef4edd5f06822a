import { InvalidArgumentError, type Command } from 'commander';
import type { Engine } from '../../shared/engine/engine.ts';
import type { PickToken } from '../../shared/generate/generate.ts';
import { OrtWebEngine } from '../../shared/engine/ort-web-engine.ts';
import { OrtNodeEngine } from '../engine/ort-node-engine.ts';
import { KernelEngine } from '../../shared/engine/kernel/kernel-engine.ts';
import { nodeKernelThreadSpawner } from '../engine/kernel-thread-spawner.ts';
import { eagerWasmTierUp } from '../engine/wasm-tiering.ts';
import { localGenerate } from '../engine/local-generate.ts';
import { parsePositiveInt, parseSeed, reportErrors } from './convert-command.ts';
import { pickStepToken } from '../../shared/ring/step-sampler.ts';

interface GenerateOptions {
  model: string;
  prompt: string;
  maxTokens?: number;
  steps?: number;
  temperature: number;
  topP: number;
  topK?: number;
  seed: number;
  split?: string;
  stages?: number;
  engine: 'node' | 'wasm' | 'kernel' | 'cuda' | 'webgpu';
  threads?: number;
  json?: boolean;
}

function parseNonNegative(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a non-negative number');
  return n;
}

function parseEngine(value: string): GenerateOptions['engine'] {
  if (value !== 'node' && value !== 'wasm' && value !== 'kernel' && value !== 'cuda' && value !== 'webgpu') {
    throw new InvalidArgumentError('expected node, wasm, kernel, cuda or webgpu');
  }
  return value;
}

function createEngine(kind: GenerateOptions['engine'], threads?: number): Engine {
  const opts = threads === undefined ? {} : { threads };
  if (kind === 'wasm') {
    eagerWasmTierUp();
    return new OrtWebEngine({ backend: 'wasm', ...opts });
  }
  if (kind === 'kernel') {
    eagerWasmTierUp();
    return new KernelEngine({ ...opts, spawner: nodeKernelThreadSpawner });
  }
  return new OrtNodeEngine({ device: kind === 'node' ? 'cpu' : kind, ...opts });
}

/**
 * `node-peer generate`: local generation in one process; with --split/--stages the layers run as
 * separate sessions passing hidden states, as ring stages do across peers. Streams text to stdout
 * (byte for byte what llama2.c's run.c prints for its models), or prints one JSON object.
 */
export function registerGenerateCommand(program: Command): void {
  program
    .command('generate')
    .description('generate text locally from a model package')
    .requiredOption('--model <dir>', 'model package directory')
    .option('--prompt <text>', 'prompt text', '')
    .option('--max-tokens <n>', 'most tokens to generate', parsePositiveInt)
    .option('--steps <n>', "positions in all, prompt included (llama2.c's -n)", parsePositiveInt)
    .option('--temperature <t>', '0 = greedy', parseNonNegative, 0)
    .option('--top-p <p>', 'nucleus sampling mass (1 = off)', parseNonNegative, 1)
    .option('--top-k <k>', 'keep the k most likely tokens', parsePositiveInt)
    .option('--seed <n>', "sampling seed (the same seed as the API's `seed` gives the same tokens)", parseSeed, 0)
    .option('--split <counts>', 'layers per stage, e.g. 2,2')
    .option('--stages <k>', 'split the layers into k even stages', parsePositiveInt)
    .option(
      '--engine <kind>',
      "node (onnxruntime-node CPU), cuda or webgpu (onnxruntime-node providers), wasm (onnxruntime-web), kernel (ringmesh's WASM SIMD engine, q8/q4 packages)",
      parseEngine,
      'node',
    )
    .option('--threads <n>', 'intra-op threads per stage', parsePositiveInt)
    .option('--json', 'print {promptIds, generatedIds, text, stopReason} instead of streaming text')
    .action(
      reportErrors(async (o: GenerateOptions) => {
        const engine = createEngine(o.engine, o.threads);
        // Drawn as a ring's last stage draws (seeded from (seed, step)), so `--seed` here gives the
        // ids the ring and the OpenAI API (`seed`) give for the same prompt and options.
        const sampling = { temperature: o.temperature, topP: o.topP, topK: o.topK ?? 0, seed: o.seed };
        const pick: PickToken = (logits, step) => pickStepToken(logits, sampling, step);
        try {
          const result = await localGenerate({
            modelDir: o.model,
            prompt: o.prompt,
            engine,
            pick,
            ...(o.split === undefined ? {} : { split: o.split }),
            ...(o.stages === undefined ? {} : { stages: o.stages }),
            ...(o.maxTokens === undefined ? {} : { maxTokens: o.maxTokens }),
            ...(o.steps === undefined ? {} : { steps: o.steps }),
            ...(o.threads === undefined ? {} : { threads: o.threads }),
            ...(o.json === true ? {} : { onText: (text: string) => process.stdout.write(text) }),
          });
          if (o.json === true) {
            const { promptIds, generatedIds, text, stopReason, ranges } = result;
            process.stdout.write(`${JSON.stringify({ promptIds, generatedIds, text, stopReason, ranges })}\n`);
          } else {
            process.stdout.write('\n');
          }
        } finally {
          await engine.dispose();
        }
      }),
    );
}
