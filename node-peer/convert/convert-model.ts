import { open, stat } from 'node:fs/promises';
import type { ModelId } from '../../shared/ids.ts';
import type { ModelManifest } from '../../shared/model/manifest.ts';
import { convertGguf } from './convert-gguf.ts';
import { convertHf } from './convert-hf.ts';
import { convertLlama2c } from './convert-llama2c.ts';
import type { ConvertOptions } from './convert-options.ts';
import { UnknownSourceError } from './errors.ts';

/** A directory is a Hugging Face checkpoint; a file is GGUF (by its magic) or a llama2.c checkpoint (needs `tokenizer`). */
export async function convertModel(
  src: string,
  outDir: string,
  options: ConvertOptions & { tokenizer?: string } = {},
): Promise<{ manifest: ModelManifest; modelId: ModelId }> {
  const s = await stat(src).catch((err: unknown) => {
    throw new UnknownSourceError(src, 'does not exist (expected a llama2.c checkpoint file or a Hugging Face directory)', { cause: err });
  });
  const { tokenizer, ...rest } = options;
  if (s.isDirectory()) return convertHf(src, outDir, rest);
  return (await isGguf(src)) ? convertGguf(src, outDir, rest) : convertLlama2c(src, tokenizer, outDir, rest);
}

async function isGguf(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const magic = new Uint8Array(4);
    const { bytesRead } = await fh.read(magic, 0, 4, 0);
    return bytesRead === 4 && new TextDecoder().decode(magic) === 'GGUF';
  } finally {
    await fh.close();
  }
}
