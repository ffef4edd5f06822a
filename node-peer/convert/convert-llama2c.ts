import { open, readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { ModelId } from '../../shared/ids.ts';
import type { ModelManifest } from '../../shared/model/manifest.ts';
import { Llama2cTokenizer } from '../../shared/tokenizer/llama2c-tokenizer.ts';
import { writeModelPackage } from '../model/write-model-package.ts';
import type { ConvertOptions } from './convert-options.ts';
import { CheckpointFormatError, TokenizerMissingError } from './errors.ts';
import { LLAMA2C_HEADER_BYTES, llama2cArchitecture, parseLlama2cHeader, readFloats, type Llama2cLayout } from './llama2c-checkpoint.ts';
import { llamaUnits, type TensorSource } from './llama-units.ts';
import { interleavedToRotateHalf } from './rope-permute.ts';

/**
 * run.c stops when the next token is BOS (1) — llama2.c models are trained with BOS as the
 * document separator and never emit EOS (2) as a stop — so the package lists [1] as its stop ids,
 * and the generation loop ends exactly where run.c does.
 */
const LLAMA2C_STOP_IDS = [1] as const;

/** Converts a llama2.c checkpoint + tokenizer.bin into a model package at `outDir`. */
export async function convertLlama2c(
  checkpoint: string,
  tokenizerPath: string | undefined,
  outDir: string,
  options: ConvertOptions = {},
): Promise<{ manifest: ModelManifest; modelId: ModelId }> {
  const fileBytes = await stat(checkpoint).then(
    (s) => s.size,
    (err: unknown) => {
      throw new CheckpointFormatError(checkpoint, 'cannot read the checkpoint file', { cause: err });
    },
  );
  const fh = await open(checkpoint, 'r');
  try {
    const head = new Uint8Array(LLAMA2C_HEADER_BYTES);
    await fh.read(head, 0, head.length, 0);
    const layout = parseLlama2cHeader(head, fileBytes, checkpoint);
    const arch = llama2cArchitecture(layout.header);
    if (tokenizerPath === undefined) {
      throw new TokenizerMissingError(checkpoint, 'a llama2.c checkpoint needs its tokenizer.bin (--tokenizer)');
    }
    const tokBytes = await readFile(tokenizerPath).then(
      (b) => new Uint8Array(b.buffer, b.byteOffset, b.length),
      (err: unknown) => {
        throw new TokenizerMissingError(tokenizerPath, `cannot read the tokenizer: ${(err as Error).message}`);
      },
    );
    // Parses with the checkpoint's vocab size: a tokenizer of another model fails here.
    Llama2cTokenizer.fromBytes(tokBytes, tokenizerPath, { expectedVocab: arch.vocabSize });
    const dtype = options.dtype ?? 'fp32';
    return await writeModelPackage(outDir, {
      name: options.name ?? basename(checkpoint).replace(/\.bin$/, ''),
      architecture: arch,
      dtype,
      ...(options.pieceSize === undefined ? {} : { pieceSize: options.pieceSize }),
      tokenizer: { kind: 'llama2c', file: 'tokenizer.bin', data: tokBytes, bos: 1, eos: LLAMA2C_STOP_IDS, addBos: true, chatTemplate: null },
      units: llamaUnits(arch, llama2cSource(fh, layout, checkpoint), dtype, options.slabFloats),
    });
  } finally {
    await fh.close();
  }
}

/** Maps manifest tensor names to blocks of the checkpoint; q/k rows permuted to rotate-half. */
function llama2cSource(fh: Parameters<typeof readFloats>[0], layout: Llama2cLayout, file: string): TensorSource {
  const { header: h, offsets } = layout;
  const headDim = h.dim / h.nHeads;
  // Rows [start, start + count) of a tensor; slabs of q/k are whole heads (TensorSource.getRows).
  const rows = async (name: string, shape: readonly number[], start: number, count: number): Promise<Float32Array> => {
    const n = shape.reduce((p, d) => p * d, 1);
    const cols = shape.length === 2 ? (shape[1] as number) : n;
    const at = (base: number, layer = 0): number => base + (layer * n + start * cols) * 4;
    if (name === 'embed.weight') return readFloats(fh, at(offsets.embed), count * cols);
    if (name === 'final_norm.weight') return readFloats(fh, at(offsets.rmsFinal), count * cols);
    if (name === 'lm_head.weight') return readFloats(fh, at(offsets.wcls), count * cols);
    const m = /^layers\.(\d+)\.(\w+)\.weight$/.exec(name);
    const block = m === null ? undefined : BLOCKS[m[2] as string];
    if (m === null || block === undefined) throw new CheckpointFormatError(file, `no llama2.c tensor for ${name}`);
    const data = await readFloats(fh, at(offsets[block], Number(m[1])), count * cols);
    if (block === 'wq' || block === 'wk') return interleavedToRotateHalf(data, count / headDim, headDim, cols);
    return data;
  };
  return {
    get: (name, shape) => rows(name, shape, 0, shape.length === 2 ? (shape[0] as number) : 1),
    getRows: rows,
  };
}

const BLOCKS: Record<string, keyof Llama2cLayout['offsets']> = {
  attn_norm: 'rmsAtt',
  q: 'wq',
  k: 'wk',
  v: 'wv',
  o: 'wo',
  ffn_norm: 'rmsFfn',
  gate: 'w1',
  up: 'w3',
  down: 'w2',
};
