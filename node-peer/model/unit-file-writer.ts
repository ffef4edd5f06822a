import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { sha256Hex } from '../../shared/crypto/sha256.ts';
import type { TensorEntry, UnitEntry, UnitName } from '../../shared/model/manifest.ts';
import { pieceCount, pieceRange } from '../../shared/model/pieces.ts';
import { planUnitLayout, type TensorSpec } from '../../shared/model/unit-layout.ts';
import { PackageWriteError } from './errors.ts';

/** Places `bytes` at byte `at` of one tensor. Writes may come in any order but must not overlap. */
export type TensorWrite = (bytes: Uint8Array, at: number) => Promise<void>;

/**
 * One tensor of a unit, in the package's storage dtype and layout: its bytes whole (small tensors,
 * tests), or a producer that writes them slab by slab, so a large tensor is never whole in memory.
 */
export type TensorData = TensorSpec & ({ readonly data: Uint8Array } | { readonly produce: (write: TensorWrite) => Promise<void> });

/** One unit's tensors, in file order. Produced lazily so only one unit is being written at a time. */
export interface UnitContent {
  readonly name: UnitName;
  readonly tensors: readonly TensorData[];
}

/**
 * Writes a unit file at the offsets planUnitLayout gives, hashing each fixed-size piece as soon as
 * all its bytes are on disk (read back from the file: a piece may be completed by writes that
 * were not adjacent in time, e.g. a quantized tensor's codes and, later, its scales).
 */
export async function writeUnitFile(path: string, unit: UnitContent, pieceSize: number): Promise<{ entry: UnitEntry; layout: TensorEntry[] }> {
  const layout = planUnitLayout(unit.name, unit.tensors);
  const fh = await open(path, 'w+'); // read back to hash pieces
  try {
    await fh.truncate(layout.bytes);
    const hasher = new PieceHasher(fh, path, layout.bytes, pieceSize);
    let end = 0;
    for (const [i, t] of unit.tensors.entries()) {
      const place = layout.tensors[i] as TensorEntry;
      await hasher.filled(end, place.offset); // zero padding before the tensor (the file starts zeroed)
      end = place.offset + place.bytes;
      let written = 0;
      const write: TensorWrite = async (bytes, at) => {
        if (at < 0 || at + bytes.length > place.bytes) {
          throw new PackageWriteError(path, `tensor ${t.name}: write of ${bytes.length} bytes at ${at} passes its ${place.bytes} bytes`);
        }
        await writeAll(fh, bytes, place.offset + at);
        written += bytes.length;
        await hasher.filled(place.offset + at, place.offset + at + bytes.length);
      };
      if ('data' in t) {
        if (t.data.length !== place.bytes) throw sizeError(path, t, place.bytes, t.data.length);
        await write(t.data, 0);
      } else {
        await t.produce(write);
      }
      if (written !== place.bytes) throw sizeError(path, t, place.bytes, written);
    }
    const pieces = hasher.hashes();
    const entry: UnitEntry = { name: unit.name, file: basename(path), bytes: layout.bytes, pieces };
    return { entry, layout: [...layout.tensors] };
  } finally {
    await fh.close();
  }
}

function sizeError(path: string, t: TensorSpec, expected: number, got: number): PackageWriteError {
  return new PackageWriteError(path, `tensor ${t.name}: expected ${expected} bytes for shape [${t.shape.join(', ')}] ${t.dtype}, got ${got}`);
}

async function writeAll(fh: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

/** Counts the bytes written into each piece; hashes a piece (read back from the file) once it is full. */
class PieceHasher {
  private readonly done: number[];
  private readonly hashed: (string | undefined)[];

  constructor(
    private readonly fh: FileHandle,
    private readonly path: string,
    private readonly unitBytes: number,
    private readonly pieceSize: number,
  ) {
    const n = pieceCount(unitBytes, pieceSize);
    this.done = new Array<number>(n).fill(0);
    this.hashed = new Array<string | undefined>(n).fill(undefined);
  }

  async filled(start: number, end: number): Promise<void> {
    if (end <= start) return;
    const first = Math.floor(start / this.pieceSize);
    const last = Math.floor((end - 1) / this.pieceSize);
    for (let i = first; i <= last; i++) {
      const r = pieceRange(this.unitBytes, this.pieceSize, i);
      this.done[i] = (this.done[i] as number) + Math.min(end, r.end) - Math.max(start, r.start);
      if (this.done[i] === r.end - r.start) {
        this.hashed[i] = await sha256Hex(await this.readBack(r.start, r.end - r.start, i));
      }
    }
  }

  private async readBack(position: number, length: number, piece: number): Promise<Uint8Array> {
    const bytes = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(bytes, done, length - done, position + done);
      if (bytesRead === 0) throw new PackageWriteError(this.path, `piece ${piece}: read back ${done} of ${length} bytes`);
      done += bytesRead;
    }
    return bytes;
  }

  hashes(): string[] {
    return this.hashed.map((h, i) => {
      if (h === undefined) throw new PackageWriteError(this.path, `piece ${i}: ${this.done[i]} bytes written, the unit has a gap`);
      return h;
    });
  }
}
