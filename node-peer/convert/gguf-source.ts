import type { FileHandle } from 'node:fs/promises';
import { halfToFloat32 } from '../../shared/util/half-float.ts';
import type { LlamaArchitecture } from '../../shared/model/manifest.ts';
import { dequantize, fromGgufBlocksInto, isQuantDType, quantLayout } from '../../shared/model/quant-blocks.ts';
import { CheckpointFormatError, TensorShapeError } from './errors.ts';
import { ggufRowBytes, requireTensor, type GgufFile, type GgufTensor } from './gguf-file.ts';
import type { TensorSource } from './llama-units.ts';
import { interleavedToRotateHalfRows } from './rope-permute.ts';
import { rowSlabs, writeQuantPadding, writeQuantSlab } from './tensor-slabs.ts';

const LAYER_NAMES: Record<string, string> = {
  attn_norm: 'attn_norm',
  q: 'attn_q',
  k: 'attn_k',
  v: 'attn_v',
  o: 'attn_output',
  ffn_norm: 'ffn_norm',
  gate: 'ffn_gate',
  up: 'ffn_up',
  down: 'ffn_down',
};

/** Manifest tensor name → GGUF name (llama.cpp's llama naming; the head is token_embd when tied). */
function ggufTensorName(name: string, tied: boolean): string {
  if (name === 'embed.weight') return 'token_embd.weight';
  if (name === 'final_norm.weight') return 'output_norm.weight';
  if (name === 'lm_head.weight') return tied ? 'token_embd.weight' : 'output.weight';
  const m = /^layers\.(\d+)\.(\w+)\.weight$/.exec(name);
  const g = m === null ? undefined : LAYER_NAMES[m[2] as string];
  if (m === null || g === undefined) throw new TypeError(`no GGUF name for ${name}`);
  return `blk.${m[1]}.${g}.weight`;
}

/**
 * Tensors of a llama GGUF in package layout. llama.cpp's converter permutes q/k rows of Hugging
 * Face checkpoints to interleaved RoPE pairs; our graph rotates halves, so q/k rows are permuted
 * back — whole rows, so Q8_0/Q4_0 blocks move with their rows and are never re-quantized.
 */
export function ggufSource(g: GgufFile, fh: FileHandle, arch: LlamaArchitecture): TensorSource {
  const { headDim, numHeads, numKvHeads } = arch;
  const locate = (name: string, shape: readonly number[]): GgufTensor => {
    const t = requireTensor(g, ggufTensorName(name, arch.tiedEmbeddings));
    if (t.shape.join() !== shape.join()) throw new TensorShapeError(g.file, t.name, shape, t.shape);
    return t;
  };
  const ropeHeads = (name: string): number | null => (/\.q\.weight$/.test(name) ? numHeads : /\.k\.weight$/.test(name) ? numKvHeads : null);
  // Raw bytes of rows [start, start + count), q/k rows back in rotate-half order (slabs are whole heads).
  const rawRows = async (name: string, t: GgufTensor, start: number, count: number): Promise<Uint8Array> => {
    const cols = t.shape[t.shape.length - 1] as number;
    const rowBytes = ggufRowBytes(t.type, cols);
    const raw = await readAt(fh, g.file, t.start + start * rowBytes, count * rowBytes);
    return ropeHeads(name) === null ? raw : interleavedToRotateHalfRows(raw, count / headDim, headDim, rowBytes);
  };
  const rows = async (name: string, shape: readonly number[], start: number, count: number): Promise<Float32Array> => {
    const t = locate(name, shape);
    const cols = shape[shape.length - 1] as number;
    const cut = shape.length === 1 ? { start: 0, count: 1 } : { start, count };
    return toFloat32(t, await rawRows(name, t, cut.start, cut.count), cut.count, cols);
  };
  return {
    get: (name, shape) => rows(name, shape, 0, shape.length === 2 ? (shape[0] as number) : 1),
    getRows: rows,
    direct(name, shape, dtype, slabFloats) {
      const t = locate(name, shape);
      if (!isQuantDType(dtype) || t.type !== (dtype === 'q8' ? 'Q8_0' : 'Q4_0')) return undefined;
      const [rowsN, cols] = shape as [number, number];
      const full = quantLayout(dtype, rowsN, cols);
      return async (write) => {
        for (const { start, count } of rowSlabs(rowsN, cols, headDim, slabFloats)) {
          const slab = quantLayout(dtype, count, cols);
          const bytes = new Uint8Array(slab.bytes);
          fromGgufBlocksInto(dtype, await rawRows(name, t, start, count), slab, 0, count, bytes);
          await writeQuantSlab(full, slab, bytes, start, write);
        }
        await writeQuantPadding(dtype, shape, write);
      };
    },
  };
}

/** A whole GGUF tensor by its GGUF name as fp32 (small extras such as rope_freqs.weight). */
export async function readGgufTensor(g: GgufFile, fh: FileHandle, name: string): Promise<Float32Array> {
  const t = requireTensor(g, name);
  const cols = t.shape[t.shape.length - 1] ?? 1;
  return toFloat32(t, await readAt(fh, g.file, t.start, t.end - t.start), (t.end - t.start) / ggufRowBytes(t.type, cols), cols);
}

/** Values of `count` rows of a GGUF tensor's raw bytes (the same arithmetic as ggml's dequantizers). */
function toFloat32(t: GgufTensor, raw: Uint8Array, count: number, cols: number): Float32Array {
  if (t.type === 'F32') return new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4);
  if (t.type === 'F16') return halfToFloat32(new Uint16Array(raw.buffer, raw.byteOffset, raw.length / 2));
  const dtype = t.type === 'Q8_0' ? 'q8' : 'q4';
  const layout = quantLayout(dtype, count, cols);
  const ours = new Uint8Array(layout.bytes);
  fromGgufBlocksInto(dtype, raw, layout, 0, count, ours);
  return dequantize(dtype, ours, count, cols);
}

async function readAt(fh: FileHandle, file: string, position: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(out, done, length - done, position + done);
    if (bytesRead === 0) throw new CheckpointFormatError(file, `truncated: ${done} of ${length} bytes at ${position}`);
    done += bytesRead;
  }
  return out;
}
