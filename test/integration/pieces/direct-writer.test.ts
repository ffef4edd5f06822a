import { execFile } from 'node:child_process';
import { mkdtemp, open, readdir, readFile, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../shared/crypto/sha256.ts';
import { DirectWriteUnsupported, DirectWriter } from '../../../node-peer/store/direct-writer.ts';
import { DiskPieceStore } from '../../../node-peer/store/disk-piece-store.ts';
import { seededBytes } from '../../util/pieces-fixtures.ts';

const run = promisify(execFile);

/** Bytes of `path` resident in the page cache, from util-linux's fincore. */
async function cachedBytes(path: string): Promise<number> {
  const { stdout } = await run('fincore', ['--bytes', '--noheadings', '--output', 'RES', path]);
  return Number(stdout.trim());
}

describe('DirectWriter (O_DIRECT piece writes)', () => {
  it('writes files of every alignment byte for byte, through fewer slots than writes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rm-direct-'));
    // Two 64 KiB slots: a 200 KiB file takes several chunks, six concurrent writes wait for slots.
    const writer = new DirectWriter(2, 64 * 1024);
    const sizes = [0, 1, 4095, 4096, 4097, 65_536, 65_537, 200 * 1024 + 3];
    const datas = sizes.map((n, i) => seededBytes(100 + i, n));
    await Promise.all(
      datas.map(async (d, i) => {
        const fh = await open(join(dir, `f${i}`), DirectWriter.openFlags(), 0o666);
        try {
          await writer.write(fh, d);
        } finally {
          await fh.close();
        }
      }),
    );
    for (const [i, d] of datas.entries()) expect(new Uint8Array(await readFile(join(dir, `f${i}`)))).toEqual(d);
    await rm(dir, { recursive: true, force: true });
  });

  it('lets DiskPieceStore store pieces past the page cache, verified and whole', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rm-direct-'));
    const store = await DiskPieceStore.open(dir);
    const data = seededBytes(7, 4 * 1024 * 1024 + 123);
    const hash = await sha256Hex(data);
    await store.put(hash, data);
    expect(store.writesDirect).toBe(true); // the temp dir's file system (ext4 here) takes O_DIRECT
    const path = join(dir, 'pieces', hash.slice(0, 2), hash);
    // Written around the page cache: nothing of it is cached until someone reads it.
    expect(await cachedBytes(path)).toBe(0);
    const back = await store.get(hash);
    expect(back && (await sha256Hex(back))).toBe(hash);
    expect(back?.byteLength).toBe(data.byteLength);
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);
    await rm(dir, { recursive: true, force: true });
  });

  it('writes through the page cache when asked not to use O_DIRECT', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rm-direct-'));
    const store = await DiskPieceStore.open(dir, { directIo: false });
    const data = seededBytes(8, 1024 * 1024);
    const hash = await sha256Hex(data);
    await store.put(hash, data);
    expect(store.writesDirect).toBe(false);
    expect(await cachedBytes(join(dir, 'pieces', hash.slice(0, 2), hash))).toBe(data.byteLength);
    await rm(dir, { recursive: true, force: true });
  });

  it('falls back to buffered writes, for good, on a file system that refuses O_DIRECT', async () => {
    // Every file system this machine mounts takes O_DIRECT, so a writer stands in for one that
    // does not: it fails the way the kernel does there (EINVAL) after writing part of the file.
    let refusals = 0;
    class RefusingWriter extends DirectWriter {
      override async write(fh: FileHandle, data: Uint8Array): Promise<void> {
        refusals++;
        await fh.write(data.subarray(0, 10), 0, 10, 0).catch(() => undefined);
        throw new DirectWriteUnsupported('the file system refused an O_DIRECT write');
      }
    }
    const dir = await mkdtemp(join(tmpdir(), 'rm-direct-'));
    const store = await DiskPieceStore.open(dir, { directWriter: new RefusingWriter(1, 64 * 1024) });
    const a = seededBytes(21, 100_000);
    const b = seededBytes(22, 5000);
    const [ha, hb] = [await sha256Hex(a), await sha256Hex(b)];
    await store.put(ha, a);
    expect(store.writesDirect).toBe(false);
    await store.put(hb, b);
    expect(refusals).toBe(1); // the second piece went straight to buffered writes
    expect(await store.get(ha)).toEqual(a);
    expect(await store.get(hb)).toEqual(b);
    expect(await readdir(join(dir, 'tmp'))).toEqual([]); // the refused attempt left nothing behind
    await rm(dir, { recursive: true, force: true });
  });
});
