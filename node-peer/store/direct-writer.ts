import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/** O_DIRECT wants the memory address, the length and the file offset aligned to the logical block size (≤ 4 KiB). */
const DIRECT_ALIGN = 4096;
/** O_DIRECT, or 0 where the platform has none (the caller then writes through the page cache). */
export const O_DIRECT: number = (constants as { O_DIRECT?: number }).O_DIRECT ?? 0;

const WASM_PAGE = 65_536;

/** Why a direct write could not be done: the caller writes the same file through the page cache. */
export class DirectWriteUnsupported extends Error {
  override readonly name = 'DirectWriteUnsupported';
}

/**
 * Writes files with O_DIRECT from an aligned staging arena, skipping the page cache.
 *
 * Why: a peer writes each piece once and reads it rarely (peers are served from memory, the engine
 * loads a partition once), yet a buffered write makes the kernel find, fill and later reclaim a
 * page-cache page for every 4 KiB. On the 2-core VMs here that costs ~2.8 s of system time per GB
 * of new file data (first touch of memory the VM had handed back to its host), against ~0.07 s
 * for O_DIRECT plus a 4 MiB memcpy into the arena: eight peers fetching a 270 MB model write
 * 2.2 GB (docs/pieces.md). It also keeps gigabytes of weights from evicting a host's useful cache.
 *
 * The arena is WebAssembly memory, the one buffer JavaScript can get whose address is page
 * aligned (V8 maps it with mmap). Data is copied into a slot in aligned chunks; the last chunk is
 * padded and the file truncated back to its length. Slots are shared by concurrent writes, a few
 * at a time; a write waits for a free one.
 */
export class DirectWriter {
  private readonly slots: Uint8Array[] = [];
  private readonly waiting: ((slot: Uint8Array) => void)[] = [];

  constructor(
    slotCount = 3,
    readonly slotBytes = 4 * 1024 * 1024,
  ) {
    if (slotBytes % WASM_PAGE !== 0 || slotBytes <= 0) throw new RangeError(`slotBytes must be a positive multiple of ${WASM_PAGE}`);
    const memory = new WebAssembly.Memory({ initial: (slotCount * slotBytes) / WASM_PAGE, maximum: (slotCount * slotBytes) / WASM_PAGE });
    for (let i = 0; i < slotCount; i++) this.slots.push(new Uint8Array(memory.buffer, i * slotBytes, slotBytes));
  }

  /** Flags for `open` that add O_DIRECT to a create-exclusive write. */
  static openFlags(): number {
    return constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_DIRECT;
  }

  /**
   * Writes `data` at offset 0 of `fh` (opened with `openFlags()`), leaving the file exactly
   * `data.byteLength` long. Throws `DirectWriteUnsupported` when the file system refuses O_DIRECT
   * I/O (EINVAL), other fs errors as they are.
   */
  async write(fh: FileHandle, data: Uint8Array): Promise<void> {
    const slot = await this.acquire();
    try {
      for (let at = 0; at < data.byteLength; at += this.slotBytes) {
        const n = Math.min(this.slotBytes, data.byteLength - at);
        slot.set(data.subarray(at, at + n));
        const padded = Math.ceil(n / DIRECT_ALIGN) * DIRECT_ALIGN;
        // Padding bytes are whatever the slot held; the truncate below cuts them off.
        let done = 0;
        while (done < padded) {
          const { bytesWritten } = await fh.write(slot, done, padded - done, at + done).catch(rethrowUnsupported);
          if (bytesWritten <= 0 || bytesWritten % DIRECT_ALIGN !== 0) throw new DirectWriteUnsupported(`short direct write of ${bytesWritten} bytes`);
          done += bytesWritten;
        }
      }
      if (data.byteLength % DIRECT_ALIGN !== 0) await fh.truncate(data.byteLength);
    } finally {
      this.release(slot);
    }
  }

  private acquire(): Promise<Uint8Array> {
    const slot = this.slots.pop();
    if (slot !== undefined) return Promise.resolve(slot);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(slot: Uint8Array): void {
    const next = this.waiting.shift();
    if (next !== undefined) next(slot);
    else this.slots.push(slot);
  }
}

function rethrowUnsupported(err: unknown): never {
  if ((err as NodeJS.ErrnoException | undefined)?.code === 'EINVAL')
    throw new DirectWriteUnsupported('the file system refused an O_DIRECT write', { cause: err });
  throw err;
}

/** Whether `open` refused the O_DIRECT flag itself (tmpfs on older kernels, some FUSE mounts). */
export function isDirectOpenRefused(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'EINVAL';
}
