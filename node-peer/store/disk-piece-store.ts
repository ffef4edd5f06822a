import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { nodeSha256Hex } from '../crypto/node-sha256.ts';
import { CorruptPieceError } from '../../shared/pieces/errors.ts';
import type { ModelRecord, ModelStore } from '../../shared/pieces/piece-store.ts';
import { DirectWriteUnsupported, DirectWriter, O_DIRECT, isDirectOpenRefused } from './direct-writer.ts';
import { isNotFound, toStoreError } from './fs-errors.ts';

const HEX64 = /^[0-9a-f]{64}$/;

export interface DiskStoreOptions {
  /** Told about each stored file found corrupt by `verify` (already deleted). */
  readonly onCorrupt?: (err: CorruptPieceError) => void;
  /**
   * Write pieces with O_DIRECT, past the page cache (default true where the platform has it;
   * `direct-writer.ts` says why). A file system that refuses it gets buffered writes instead.
   */
  readonly directIo?: boolean;
  /** The writer to use for O_DIRECT (tests give one standing for a file system that refuses it). */
  readonly directWriter?: DirectWriter;
}

/** A temp file no write touched for this long is a crashed run's (a piece's write takes seconds at most). */
const STALE_TMP_MS = 10 * 60_000;

/**
 * `NodeStore`: a cache directory of content-addressed files.
 *
 *   <dir>/pieces/<hash[0..2]>/<hash>   one verified piece (or a manifest, keyed by model id)
 *   <dir>/models/<modelId>.json        written only once every piece of that model is stored
 *   <dir>/tmp/                         writes in progress; a crash leaves only these, removed by
 *                                      a later open once untouched for STALE_TMP_MS
 *
 * A put writes a temp file, fsyncs it and renames it into place, so a piece file is either absent
 * or whole. What the disk gives back is still re-hashed before use (`withVerification`, `verify`):
 * bit rot or an outside edit is deleted and reported, never served. ENOSPC/EACCES surface as
 * StoreFullError/StorePermissionError naming the path. Open with `DiskPieceStore.open`.
 */
export class DiskPieceStore implements ModelStore {
  /** Undefined once the file system refused O_DIRECT (or when asked not to use it). */
  private direct: DirectWriter | undefined;

  private constructor(
    readonly dir: string,
    private readonly opts: DiskStoreOptions,
  ) {
    this.direct = (opts.directIo ?? true) && O_DIRECT !== 0 ? (opts.directWriter ?? new DirectWriter()) : undefined;
  }

  /** Whether pieces are still being written with O_DIRECT (false after a refusal). */
  get writesDirect(): boolean {
    return this.direct !== undefined;
  }

  /** Creates the layout and removes temp files a crashed run left behind (untouched for STALE_TMP_MS). */
  static async open(dir: string, opts: DiskStoreOptions = {}): Promise<DiskPieceStore> {
    for (const sub of ['pieces', 'models', 'tmp']) {
      const p = join(dir, sub);
      await mkdir(p, { recursive: true }).catch((err: unknown) => {
        throw toStoreError(err, p);
      });
    }
    // Only what no write touched for STALE_TMP_MS: another peer sharing this cache directory may be
    // writing into tmp/ right now, and removing its file would fail its rename.
    const tmp = join(dir, 'tmp');
    const now = Date.now();
    for (const name of await readdir(tmp)) {
      const path = join(tmp, name);
      const st = await stat(path).catch(() => null); // gone meanwhile: renamed or removed by its writer
      if (st !== null && now - st.mtimeMs > STALE_TMP_MS) await rm(path, { force: true, recursive: true });
    }
    return new DiskPieceStore(dir, opts);
  }

  private pathOf(hash: string): string {
    if (!HEX64.test(hash)) throw new RangeError(`not a hex sha256: ${hash}`);
    return join(this.dir, 'pieces', hash.slice(0, 2), hash);
  }

  async has(hash: string): Promise<boolean> {
    const fh = await open(this.pathOf(hash), 'r').catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw toStoreError(err, this.pathOf(hash));
    });
    await fh?.close();
    return fh !== undefined;
  }

  async get(hash: string): Promise<Uint8Array | undefined> {
    const path = this.pathOf(hash);
    try {
      const buf = await readFile(path);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw toStoreError(err, path);
    }
  }

  async put(hash: string, data: Uint8Array): Promise<void> {
    const path = this.pathOf(hash);
    if (await this.has(hash)) return;
    await this.writeAtomic(path, data, true);
  }

  async verify(hash: string): Promise<boolean> {
    const data = await this.get(hash);
    if (!data) return false;
    if (nodeSha256Hex(data) === hash) return true;
    await this.evict(hash);
    this.opts.onCorrupt?.(new CorruptPieceError(hash, this.pathOf(hash)));
    return false;
  }

  async evict(hash: string): Promise<void> {
    const path = this.pathOf(hash);
    await unlink(path).catch((err: unknown) => {
      if (!isNotFound(err)) throw toStoreError(err, path);
    });
  }

  async list(): Promise<string[]> {
    const root = join(this.dir, 'pieces');
    const out: string[] = [];
    for (const fan of (await readdir(root)).sort()) {
      for (const name of (await readdir(join(root, fan))).sort()) if (HEX64.test(name)) out.push(name);
    }
    return out;
  }

  async getModel(modelId: string): Promise<ModelRecord | undefined> {
    const path = join(this.dir, 'models', `${modelId}.json`);
    try {
      return JSON.parse(await readFile(path, 'utf8')) as ModelRecord;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      // A torn or edited record only costs a re-check of the pieces, so treat it as absent.
      if (err instanceof SyntaxError) return undefined;
      throw toStoreError(err, path);
    }
  }

  async putModel(record: ModelRecord): Promise<void> {
    await this.writeAtomic(join(this.dir, 'models', `${record.modelId}.json`), new TextEncoder().encode(JSON.stringify(record)));
  }

  async listModels(): Promise<ModelRecord[]> {
    const names = (await readdir(join(this.dir, 'models'))).filter((n) => n.endsWith('.json')).sort();
    const out: ModelRecord[] = [];
    for (const n of names) {
      const rec = await this.getModel(n.slice(0, -5));
      if (rec) out.push(rec);
    }
    return out;
  }

  async deleteModel(modelId: string): Promise<void> {
    await rm(join(this.dir, 'models', `${modelId}.json`), { force: true });
  }

  /**
   * temp file → write → fsync → rename: readers never see a partial file, even after a crash.
   * Pieces go through the direct writer while the file system accepts it.
   */
  private async writeAtomic(path: string, data: Uint8Array, piece = false): Promise<void> {
    const tmp = join(this.dir, 'tmp', `${randomBytes(8).toString('hex')}.part`);
    const direct = piece ? this.direct : undefined;
    try {
      await mkdir(join(path, '..'), { recursive: true });
      const fh = await open(tmp, direct ? DirectWriter.openFlags() : 'wx', 0o666);
      try {
        if (direct) await direct.write(fh, data);
        else await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      if (direct && (err instanceof DirectWriteUnsupported || isDirectOpenRefused(err))) {
        // This file system does not do O_DIRECT: buffered writes from now on, this one included.
        this.direct = undefined;
        return this.writeAtomic(path, data, piece);
      }
      throw toStoreError(err, path);
    }
  }
}
