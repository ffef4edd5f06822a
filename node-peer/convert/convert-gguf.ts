import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import type { ModelId } from '../../shared/ids.ts';
import type { ModelManifest } from '../../shared/model/manifest.ts';
import { TokenizerFormatError } from '../../shared/tokenizer/errors.ts';
import { HfTokenizer } from '../../shared/tokenizer/hf-tokenizer.ts';
import { writeModelPackage } from '../model/write-model-package.ts';
import type { ConvertOptions } from './convert-options.ts';
import { ggufArchitecture } from './gguf-architecture.ts';
import { openGguf } from './gguf-file.ts';
import { ggufSource, readGgufTensor } from './gguf-source.ts';
import { ggufTokenizer } from './gguf-tokenizer.ts';
import { llamaUnits } from './llama-units.ts';

/**
 * Converts a llama-architecture GGUF file (F32/F16/Q8_0/Q4_0 tensors) into a model package.
 * Q8_0 → q8 and Q4_0 → q4 tensors keep their blocks as they are; any other pairing is dequantized
 * and re-encoded at the dtype tensorDTypeFor picks. The vocab becomes a tokenizer.json.
 */
export async function convertGguf(file: string, outDir: string, options: ConvertOptions = {}): Promise<{ manifest: ModelManifest; modelId: ModelId }> {
  const g = await openGguf(file);
  const fh = await open(file, 'r');
  try {
    const freqs = g.tensors.has('rope_freqs.weight') ? await readGgufTensor(g, fh, 'rope_freqs.weight') : null;
    const arch = ggufArchitecture(g, freqs);
    const tokenizer = ggufTokenizer(g);
    const probe = HfTokenizer.fromBytes(tokenizer.data, `${file} (vocab)`, { bos: null, eos: [], addBos: false });
    if (probe.vocabSize > arch.vocabSize) throw new TokenizerFormatError(file, `vocab has ${probe.vocabSize} tokens, the model ${arch.vocabSize}`);
    const dtype = options.dtype ?? 'fp32';
    const name = options.name ?? (typeof g.metadata['general.name'] === 'string' ? g.metadata['general.name'] : basename(file).replace(/\.gguf$/, ''));
    return await writeModelPackage(outDir, {
      name,
      architecture: arch,
      dtype,
      ...(options.pieceSize === undefined ? {} : { pieceSize: options.pieceSize }),
      tokenizer: { kind: 'hf-json', file: 'tokenizer.json', ...tokenizer },
      units: llamaUnits(arch, ggufSource(g, fh, arch), dtype, options.slabFloats),
    });
  } finally {
    await fh.close();
  }
}
