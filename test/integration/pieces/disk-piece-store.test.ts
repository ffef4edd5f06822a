import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../shared/crypto/sha256.ts';
import type { CorruptPieceError } from '../../../shared/pieces/errors.ts';
import { DiskPieceStore } from '../../../node-peer/store/disk-piece-store.ts';
import { createNodeStore } from '../../../node-peer/store/create-node-store.ts';
import { runPieceStoreContract } from '../../contracts/piece-store.contract.ts';
import { seededBytes } from '../../util/pieces-fixtures.ts';

const run = promisify(execFile);
const CHILD = join(import.meta.dirname, '../../util/disk-store-child.ts');
const NOBODY = 65534;

runPieceStoreContract('DiskPieceStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rm-disk-'));
  return {
    store: await DiskPieceStore.open(dir),
    reopen: () => DiskPieceStore.open(dir),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

describe('DiskPieceStore', () => {
  it('deletes and reports a corrupt file instead of serving it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rm-disk-'));
    const corrupt: CorruptPieceError[] = [];
    const store = await createNodeStore(dir, (e) => corrupt.push(e));
    const data = seededBytes(11, 50_000);
    const hash = await sha256Hex(data);
    await store.put(hash, data);
    const flipped = data.slice();
    flipped[1234] = (flipped[1234] ?? 0) ^ 0x01;
    await writeFile(join(dir, 'pieces', hash.slice(0, 2), hash), flipped);
    expect(await store.get(hash)).toBeUndefined();
    expect(corrupt.map((e) => e.name)).toEqual(['CorruptPieceError']);
    expect(await store.has(hash)).toBe(false);
    // verify on load finds it too
    await store.put(hash, data);
    await writeFile(join(dir, 'pieces', hash.slice(0, 2), hash), flipped.subarray(0, 100));
    expect(await store.verify(hash)).toBe(false);
    expect(corrupt).toHaveLength(2);
    await rm(dir, { recursive: true, force: true });
  });

  it('removes temp files a crash left on open (untouched for longer than a write takes), never lists them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rm-disk-'));
    await mkdir(join(dir, 'tmp'), { recursive: true });
    await writeFile(join(dir, 'tmp', 'old.part'), seededBytes(3, 100));
    const hourAgo = new Date(Date.now() - 3_600_000);
    await utimes(join(dir, 'tmp', 'old.part'), hourAgo, hourAgo);
    // A write in progress of another peer sharing the cache directory: left alone.
    await writeFile(join(dir, 'tmp', 'live.part'), seededBytes(4, 100));
    const store = await DiskPieceStore.open(dir);
    expect(await readdir(join(dir, 'tmp'))).toEqual(['live.part']);
    expect(await store.list()).toEqual([]);
    await rm(dir, { recursive: true, force: true });
  });

  it('two peers sharing a cache directory: stores opened while the other writes lose no write', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rm-disk-'));
    const data = Array.from({ length: 24 }, (_, i) => seededBytes(100 + i, 40_000));
    const hashes = await Promise.all(data.map((d) => sha256Hex(d)));
    const first = await DiskPieceStore.open(dir);
    // The same pieces written by two stores at once while more stores open on the directory.
    const writes = [first, await DiskPieceStore.open(dir)].flatMap((store) => data.map((d, i) => store.put(hashes[i]!, d)));
    const opens = Array.from({ length: 6 }, () => DiskPieceStore.open(dir));
    await Promise.all([...writes, ...opens]);
    expect((await first.list()).sort()).toEqual([...hashes].sort());
    for (const [i, h] of hashes.entries()) expect(await first.get(h)).toEqual(data[i]);
    await rm(dir, { recursive: true, force: true });
  });

  it('reports a full disk as StoreFullError naming the path, leaving no partial piece', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rm-full-'));
    // A 256 KiB tmpfs in a private mount namespace: the real ENOSPC, not a simulation.
    const script = `mount -t tmpfs -o size=256k tmpfs "$1" && exec node --import tsx "$2" "$1" 20 65536`;
    const out = await run('unshare', ['-m', 'sh', '-c', script, 'sh', dir, CHILD], { cwd: process.cwd() }).catch((e: { stdout: string }) => e);
    const lines = out.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { error?: string; path?: string; stored?: string });
    const failure = lines.at(-1);
    expect(failure?.error).toBe('StoreFullError');
    expect(failure?.path).toContain(join(dir, 'pieces'));
    expect(lines.filter((l) => l.stored).length).toBeGreaterThan(0);
    await rm(dir, { recursive: true, force: true });
  });

  it('reports an unwritable cache directory as StorePermissionError naming the path', async () => {
    const { cache, command, cleanup } = await unwritableCache();
    const out = await run(command[0] ?? 'node', [...command.slice(1), 'node', '--import', 'tsx', CHILD, cache, '1', '10'], {
      cwd: process.cwd(),
    }).catch((e: { stdout: string }) => e);
    const last = JSON.parse(out.stdout.trim().split('\n').at(-1) ?? '{}') as { error?: string; path?: string };
    expect(last.error).toBe('StorePermissionError');
    expect(last.path).toContain(cache);
    await cleanup();
  });
});

/**
 * A cache directory the child cannot write, however the suite runs. As real root (`unshare -n`)
 * the child drops to nobody; inside an unprivileged user namespace (`unshare -rn`, where only our
 * own uid is mapped) root-owned system directories show as the overflow uid and are unwritable.
 */
async function unwritableCache(): Promise<{ cache: string; command: string[]; cleanup: () => Promise<void> }> {
  const uidMap = await readFile('/proc/self/uid_map', 'utf8');
  const nobodyMapped = uidMap
    .trim()
    .split('\n')
    .some((line) => {
      const [inside = 0, , count = 0] = line.trim().split(/\s+/).map(Number);
      return inside <= NOBODY && NOBODY < inside + count;
    });
  if (nobodyMapped) {
    const dir = await mkdtemp(join(tmpdir(), 'rm-perm-'));
    await chmod(dir, 0o755);
    const cache = join(dir, 'cache');
    await mkdir(cache, { mode: 0o755 }); // owned by us; the child runs as nobody
    const drop = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'];
    return { cache, command: drop, cleanup: () => rm(dir, { recursive: true, force: true }) };
  }
  if ((await stat('/')).uid === NOBODY) {
    // '/' belongs to an unmapped owner here: mkdir under it fails with EACCES, creating nothing.
    return { cache: `/ringmesh-perm-test-${process.pid}`, command: ['env'], cleanup: async () => {} };
  }
  throw new Error(`cannot make an unwritable directory: uid ${NOBODY} is not mapped (${uidMap.trim()}) and '/' is ours`);
}
