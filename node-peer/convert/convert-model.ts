import { stat } from 'node:fs/promises';
import type { ModelId } from '../../shared/ids.ts';
import type { ModelManifest } from '../../shared/model/manifest.ts';
import { convertHf } from './convert-hf.ts';
import { convertLlama2c } from './convert-llama2c.ts';
import type { ConvertOptions } from './convert-options.ts';
import { UnknownSourceError } from './errors.ts';

/** A directory is a Hugging Face checkpoint; a file is a llama2.c checkpoint (needs `tokenizer`). */
export async function convertModel(
  src: string,
  outDir: string,
  options: ConvertOptions & { tokenizer?: string } = {},
): Promise<{ manifest: ModelManifest; modelId: ModelId }> {
  const s = await stat(src).catch((err: unknown) => {
    throw new UnknownSourceError(src, 'does not exist (expected a llama2.c checkpoint file or a Hugging Face directory)', { cause: err });
  });
  const { tokenizer, ...rest } = options;
  return s.isDirectory() ? convertHf(src, outDir, rest) : convertLlama2c(src, tokenizer, outDir, rest);
}
