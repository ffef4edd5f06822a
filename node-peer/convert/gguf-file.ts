import { stat } from 'node:fs/promises';
import { CheckpointFormatError, UnsupportedTensorTypeError } from './errors.ts';

/** GGML tensor types this converter reads (ggml.h numbering) and the bytes of one row of `cols` values. */
const GGUF_TYPES = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8 } as const;
export type GgufTypeName = keyof typeof GGUF_TYPES;

export function ggufRowBytes(type: GgufTypeName, cols: number): number {
  if (type === 'F32') return cols * 4;
  if (type === 'F16') return cols * 2;
  return (cols / 32) * (type === 'Q8_0' ? 34 : 18);
}

export interface GgufTensor {
  readonly name: string;
  readonly type: GgufTypeName;
  /** Our order, outermost first ([rows, cols]); GGUF lists ne[0] = cols first. */
  readonly shape: readonly number[];
  /** Absolute byte range in the file. */
  readonly start: number;
  readonly end: number;
}

export interface GgufFile {
  readonly file: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly tensors: ReadonlyMap<string, GgufTensor>;
}

/**
 * Reads a GGUF file's metadata and tensor table with @huggingface/gguf and checks every tensor
 * this converter may read: its type (F32, F16, Q8_0, Q4_0; others → UnsupportedTensorTypeError),
 * whole blocks per row, and its data inside the file (a truncated file fails here, naming it).
 */
export async function openGguf(file: string): Promise<GgufFile> {
  const size = await stat(file).then(
    (s) => s.size,
    (err: unknown) => {
      throw new CheckpointFormatError(file, 'cannot read the GGUF file', { cause: err });
    },
  );
  const { gguf, GGMLQuantizationType } = await import('@huggingface/gguf');
  let parsed: Awaited<ReturnType<typeof gguf>>;
  try {
    parsed = await gguf(file, { allowLocalFile: true });
  } catch (err) {
    throw new CheckpointFormatError(file, `not a readable GGUF file: ${(err as Error).message}`, { cause: err });
  }
  const names = Object.fromEntries(Object.entries(GGUF_TYPES).map(([k, v]) => [v, k])) as Record<number, GgufTypeName>;
  const dataStart = Number(parsed.tensorDataOffset);
  const tensors = new Map<string, GgufTensor>();
  for (const info of parsed.tensorInfos) {
    const type = names[info.dtype];
    const shape = info.shape.map(Number).reverse();
    if (type === undefined) {
      const typeName = (GGMLQuantizationType as Record<number, string>)[info.dtype] ?? `type ${info.dtype}`;
      // Recorded, not thrown: only a tensor the model actually needs is an error (see requireTensor).
      tensors.set(info.name, { name: info.name, type: typeName as GgufTypeName, shape, start: -1, end: -1 });
      continue;
    }
    const cols = shape[shape.length - 1] ?? 1;
    if (type.startsWith('Q') && cols % 32 !== 0) {
      throw new CheckpointFormatError(file, `tensor ${info.name}: ${type} rows of ${cols} values are not whole 32-value blocks`);
    }
    const start = dataStart + Number(info.offset);
    const end = start + (shape.reduce((p, d) => p * d, 1) / cols) * ggufRowBytes(type, cols);
    if (end > size) throw new CheckpointFormatError(file, `truncated: tensor ${info.name} ends at byte ${end}, the file has ${size}`);
    tensors.set(info.name, { name: info.name, type, shape, start, end });
  }
  return { file, metadata: parsed.metadata as Record<string, unknown>, tensors };
}

/** A tensor the model needs: present, of a supported type, of the expected shape. */
export function requireTensor(g: GgufFile, name: string): GgufTensor {
  const t = g.tensors.get(name);
  if (t === undefined) throw new CheckpointFormatError(g.file, `tensor ${name} is missing`);
  if (t.start < 0) throw new UnsupportedTensorTypeError(g.file, name, t.type);
  return t;
}
