import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ModelId } from '../../shared/ids.ts';
import type { ModelManifest } from '../../shared/model/manifest.ts';
import { writeModelPackage } from '../model/write-model-package.ts';
import type { ConvertOptions } from './convert-options.ts';
import { CheckpointFormatError, TensorShapeError } from './errors.ts';
import { parseHfConfig } from './hf-config.ts';
import { readHfTokenizerFiles } from './hf-tokenizer-files.ts';
import { openHfWeights } from './hf-weights.ts';
import { llamaUnits } from './llama-units.ts';

/** Converts a Hugging Face Llama-family checkpoint directory into a model package at `outDir`. */
export async function convertHf(dir: string, outDir: string, options: ConvertOptions = {}): Promise<{ manifest: ModelManifest; modelId: ModelId }> {
  const configPath = join(dir, 'config.json');
  let configJson: unknown;
  try {
    configJson = JSON.parse(await readFile(configPath, 'utf8'));
  } catch (err) {
    throw new CheckpointFormatError(configPath, 'missing or not valid JSON (expected a Hugging Face config.json)', { cause: err });
  }
  const { arch } = parseHfConfig(configJson, configPath);
  const tokenizer = await readHfTokenizerFiles(dir, arch.vocabSize);
  const weights = await openHfWeights(dir);
  try {
    if (!arch.tiedEmbeddings && !weights.has('lm_head.weight')) {
      throw new TensorShapeError(dir, 'lm_head.weight', [arch.vocabSize, arch.hiddenSize], null);
    }
    const dtype = options.dtype ?? 'fp32';
    return await writeModelPackage(outDir, {
      name: options.name ?? basename(dir),
      architecture: arch,
      dtype,
      ...(options.pieceSize === undefined ? {} : { pieceSize: options.pieceSize }),
      tokenizer: { kind: 'hf-json', file: 'tokenizer.json', ...tokenizer },
      units: llamaUnits(arch, weights.source(arch.tiedEmbeddings), dtype, options.slabFloats),
    });
  } finally {
    await weights.close();
  }
}
