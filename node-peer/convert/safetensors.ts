import { open, stat, type FileHandle } from 'node:fs/promises';
import { bf16ToFloat32, halfToFloat32 } from '../../shared/util/half-float.ts';
import { CheckpointFormatError } from './errors.ts';

/** Dtypes a checkpoint may hold (safetensors spelling) and their element width. */
const DTYPES = { F32: 4, F16: 2, BF16: 2 } as const;
export type SafetensorsDType = keyof typeof DTYPES;

export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  /** Absolute byte range in the file. */
  readonly start: number;
  readonly end: number;
}

export interface SafetensorsFile {
  readonly file: string;
  readonly entries: ReadonlyMap<string, SafetensorsEntry>;
  /** A tensor's values widened to fp32. */
  readFloat32(name: string): Promise<Float32Array>;
  /** Rows [start, start + count) of a tensor (row = its last dimension), widened to fp32. */
  readRowsFloat32(name: string, start: number, count: number): Promise<Float32Array>;
  close(): Promise<void>;
}

const MAX_HEADER = 100 * 1024 * 1024;

/**
 * Opens a .safetensors file: 8-byte little-endian header length, a JSON header mapping names to
 * {dtype, shape, data_offsets}, then the data. Validates dtype, shape and bounds of every entry.
 */
export async function openSafetensors(file: string): Promise<SafetensorsFile> {
  const size = await stat(file).then(
    (s) => s.size,
    (err: unknown) => {
      throw new CheckpointFormatError(file, 'cannot read the safetensors file', { cause: err });
    },
  );
  const fh = await open(file, 'r');
  try {
    if (size < 8) throw new CheckpointFormatError(file, `truncated: ${size} bytes, expected an 8-byte safetensors header length`);
    const lenBytes = await readExact(fh, 0, 8);
    const headerLen = Number(new DataView(lenBytes.buffer).getBigUint64(0, true));
    if (headerLen > MAX_HEADER || 8 + headerLen > size) {
      throw new CheckpointFormatError(file, `not a safetensors file: header length ${headerLen} does not fit in ${size} bytes`);
    }
    let header: unknown;
    try {
      header = JSON.parse(new TextDecoder().decode(await readExact(fh, 8, headerLen)));
    } catch (err) {
      throw new CheckpointFormatError(file, 'not a safetensors file: header is not JSON', { cause: err });
    }
    const entries = parseHeader(header, file, 8 + headerLen, size);
    return {
      file,
      entries,
      async readFloat32(name) {
        const e = entries.get(name);
        if (e === undefined) throw new CheckpointFormatError(file, `no tensor ${name}`);
        return widen(e.dtype, await readExact(fh, e.start, e.end - e.start));
      },
      async readRowsFloat32(name, start, count) {
        const e = entries.get(name);
        if (e === undefined) throw new CheckpointFormatError(file, `no tensor ${name}`);
        const rowBytes = (e.shape[e.shape.length - 1] ?? 1) * DTYPES[e.dtype];
        const from = e.start + start * rowBytes;
        if (start < 0 || from + count * rowBytes > e.end) throw new CheckpointFormatError(file, `tensor ${name}: rows ${start}..${start + count} out of range`);
        return widen(e.dtype, await readExact(fh, from, count * rowBytes));
      },
      close: () => fh.close(),
    };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

function parseHeader(header: unknown, file: string, dataStart: number, size: number): Map<string, SafetensorsEntry> {
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new CheckpointFormatError(file, 'safetensors header is not a JSON object');
  }
  const entries = new Map<string, SafetensorsEntry>();
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const v = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof v.dtype !== 'string' || !(v.dtype in DTYPES)) {
      throw new CheckpointFormatError(file, `tensor ${name}: dtype ${String(v.dtype)} unsupported, expected F32, F16 or BF16`);
    }
    const dtype = v.dtype as SafetensorsDType;
    const shape = v.shape;
    const offsets = v.data_offsets;
    const isInts = (a: unknown): a is number[] => Array.isArray(a) && a.every((n) => Number.isSafeInteger(n) && (n as number) >= 0);
    if (!isInts(shape) || !isInts(offsets) || offsets.length !== 2) {
      throw new CheckpointFormatError(file, `tensor ${name}: malformed shape or data_offsets`);
    }
    const [begin, end] = offsets as [number, number];
    const expected = shape.reduce((p, d) => p * d, 1) * DTYPES[dtype];
    if (end - begin !== expected) {
      throw new CheckpointFormatError(file, `tensor ${name}: ${end - begin} bytes, expected ${expected} for shape [${shape.join(', ')}] ${dtype}`);
    }
    if (begin > end || dataStart + end > size) {
      throw new CheckpointFormatError(file, `tensor ${name}: data_offsets [${begin}, ${end}] reach past the end of the file (truncated?)`);
    }
    entries.set(name, { name, dtype, shape, start: dataStart + begin, end: dataStart + end });
  }
  return entries;
}

function widen(dtype: SafetensorsDType, raw: Uint8Array): Float32Array {
  if (dtype === 'F32') return new Float32Array(raw.buffer, 0, raw.length / 4);
  const bits = new Uint16Array(raw.buffer, 0, raw.length / 2);
  return dtype === 'F16' ? halfToFloat32(bits) : bf16ToFloat32(bits);
}

async function readExact(fh: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(out, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return out;
}

/** Builds a safetensors file's bytes (tests and tools); tensors in the given order. */
export function encodeSafetensors(tensors: readonly { name: string; dtype: SafetensorsDType; shape: readonly number[]; data: Uint8Array }[]): Uint8Array[] {
  const header: Record<string, unknown> = {};
  let at = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.data.length] };
    at += t.data.length;
  }
  const raw = new TextEncoder().encode(JSON.stringify(header));
  const len = raw.length + ((8 - (raw.length % 8)) % 8); // data starts 8-aligned, as writers do
  const head = new Uint8Array(8 + len).fill(0x20);
  new DataView(head.buffer).setBigUint64(0, BigInt(len), true);
  head.set(raw, 8);
  return [head, ...tensors.map((t) => t.data)];
}
