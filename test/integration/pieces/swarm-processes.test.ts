import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSignalingServer, type SignalingServer } from '../../../signaling/server.ts';
import { checkCacheDir } from '../../util/pieces-cache-check.ts';
import { startOriginServer, type OriginServer } from '../../util/origin-server.ts';
import { writeSyntheticPackage, type SyntheticPackage } from '../../util/pieces-package.ts';
import { startPeerProcess, type PeerEvent, type PeerProcess } from '../../util/pieces-processes.ts';

// Real `node-peer start` processes, real WebRTC between them (loopback namespace, see
// scripts/test.sh), a real HTTP origin that counts what it serves per piece.
const PIECE = 256 * 1024;
const CORRUPT_PEER = join(import.meta.dirname, '../../util/corrupt-peer.ts');
let dir: string;
let pkg: SyntheticPackage;
let signaling: SignalingServer;
let origin: OriginServer;
let running: PeerProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rm-swarm-'));
  pkg = await writeSyntheticPackage(join(dir, 'pkg'), { layers: 4, unitBytes: 6 * PIECE, pieceSize: PIECE, seed: 44 });
  signaling = await createSignalingServer({ port: 0 });
});
afterEach(async () => {
  for (const p of running) p.kill('SIGKILL');
  await Promise.all(running.map((p) => p.exited));
  running = [];
  await origin?.close();
});
afterAll(async () => {
  await signaling?.close();
  await rm(dir, { recursive: true, force: true });
});

const piecesTotal = (): number => pkg.manifest.units.reduce((n, u) => n + u.pieces.length, 0);
const isReady = (e: PeerEvent): boolean => e.event === 'ready';
// `--layers 0:L` keeps these peers pieces-only (no ring stage: the synthetic package has no
// tensors to run); with `--replica full` they fetch and keep every unit all the same.
const peer = (name: string, args: string[], script?: string): PeerProcess => {
  const pieceOnly = ['--layers', `0:${pkg.manifest.architecture.numLayers}`];
  const p = startPeerProcess(
    name,
    ['--signal', signaling.url, '--replica', 'full', ...pieceOnly, '--cache-dir', join(dir, name), ...args],
    script ? { script } : {},
  );
  running.push(p);
  return p;
};
const fromIdAndOrigin = (name: string): PeerProcess => peer(name, ['--model', pkg.modelId, '--origin', origin.url]);
/** A `file#index` origin key's piece: its hash and length. */
const pieceOf = (key: string): { hash: string; length: number } => {
  const [file, index] = key.split('#') as [string, string];
  const unit = pkg.manifest.units.find((u) => u.file === file);
  const i = Number(index);
  const hash = unit?.pieces[i];
  if (unit === undefined || hash === undefined) throw new Error(`origin served ${key}, which the manifest does not have`);
  return { hash, length: Math.min(PIECE, unit.bytes - i * PIECE) };
};
const originPieceBytes = (): [string, number][] => [...origin.bytesByPiece].filter(([k]) => !k.startsWith('manifest.json'));

describe('node-peer start swarms (processes, WebRTC, HTTP origin)', () => {
  it('six peers from the model id and origin URL all complete; the origin serves each piece at most once', async () => {
    origin = await startOriginServer({ dir: join(dir, 'pkg'), pieceSize: PIECE, bytesPerSecond: 4_000_000 });
    const peers = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'].map(fromIdAndOrigin);
    await Promise.all(peers.map((p) => p.waitFor(isReady, 150_000)));
    for (const [piece, bytes] of originPieceBytes()) expect(bytes, piece).toBeLessThanOrEqual(PIECE);
    expect(originPieceBytes().reduce((n, [, b]) => n + b, 0)).toBe(pkg.bytes);
    for (const p of peers) {
      const check = await checkCacheDir(join(dir, p.name), pkg.manifest);
      expect(check).toMatchObject({ pieces: piecesTotal() + 1, corrupt: [], missing: 0, tmpFiles: 0 }); // + the manifest
    }
    const fromPeers = peers.map((p) => Number(p.events.find(isReady)?.fromPeers));
    expect(fromPeers.reduce((a, b) => a + b, 0)).toBe(5 * pkg.bytes);
  });

  it('drops a peer that serves corrupted pieces; the others complete with verified data', async () => {
    origin = await startOriginServer({ dir: join(dir, 'pkg'), pieceSize: PIECE, bytesPerSecond: 2_000_000 });
    const evil = peer('evil', ['--model', join(dir, 'pkg')], CORRUPT_PEER);
    const evilId = (await evil.waitFor((e) => e.event === 'joined')).peerId;
    const honest = ['b1', 'b2', 'b3'].map(fromIdAndOrigin);
    await Promise.all(honest.map((p) => p.waitFor(isReady, 150_000)));
    const drops = honest.flatMap((p) => p.events.filter((e) => e.event === 'peer-dropped'));
    expect(drops.length).toBeGreaterThan(0);
    expect(drops.every((e) => e.peer === evilId)).toBe(true);
    for (const p of honest) expect((await checkCacheDir(join(dir, p.name), pkg.manifest)).corrupt).toEqual([]);
  });

  it('the seed is SIGKILLed half-way; the others finish from each other and the origin', async () => {
    origin = await startOriginServer({ dir: join(dir, 'pkg'), pieceSize: PIECE, bytesPerSecond: 1_000_000 });
    const seed = peer('seed', ['--model', join(dir, 'pkg')]);
    await seed.waitFor((e) => e.event === 'ready');
    const others = ['c1', 'c2', 'c3'].map(fromIdAndOrigin);
    const half = Math.ceil(piecesTotal() / 2);
    await Promise.race(others.map((p) => p.waitFor((e) => e.event === 'progress' && Number(e.piecesDone) >= half, 150_000)));
    seed.kill('SIGKILL');
    await seed.exited;
    const ready = await Promise.all(others.map((p) => p.waitFor(isReady, 150_000)));
    for (const p of others) expect((await checkCacheDir(join(dir, p.name), pkg.manifest)).missing).toBe(0);
    for (const [piece, bytes] of originPieceBytes()) expect(bytes, piece).toBeLessThanOrEqual(PIECE);
    expect(ready.every((e) => Number(e.bytesDone) === pkg.bytes)).toBe(true);
  });

  it('a peer SIGKILLed while writing restarts and resumes; no corrupt piece is ever served or loaded', async () => {
    origin = await startOriginServer({ dir: join(dir, 'pkg'), pieceSize: PIECE, bytesPerSecond: 1_500_000 });
    const first = fromIdAndOrigin('d1');
    const third = Math.ceil(piecesTotal() / 3);
    await first.waitFor((e) => e.event === 'progress' && Number(e.piecesDone) >= third, 150_000);
    first.kill('SIGKILL');
    await first.exited;
    const afterCrash = await checkCacheDir(join(dir, 'd1'), pkg.manifest);
    expect(afterCrash.corrupt).toEqual([]); // atomic rename: no torn piece under its final name
    // What the origin served before the restart: the pieces d1 stored, and those it was still
    // reading, verifying or writing when it died (their number depends on how loaded the machine is).
    const beforeRestart = new Map(originPieceBytes());
    const again = fromIdAndOrigin('d1');
    // A witness that verifies everything it gets, much of it from the restarted peer's cache: a
    // corrupt piece served would get d1 dropped (peer-dropped) and show up here. It joins once d1
    // is back in the room with its cache read; had it joined first, alone, it would rightly have
    // asked the origin for pieces that d1's cache holds.
    await again.waitFor((e) => e.event === 'joined', 150_000);
    const witness = fromIdAndOrigin('d2');
    const [ready, witnessReady] = await Promise.all([again.waitFor(isReady, 150_000), witness.waitFor(isReady, 150_000)]);
    expect(Number(ready.fromCache)).toBeGreaterThanOrEqual(third * PIECE * 0.5);
    expect(again.events.filter((e) => e.event === 'corrupt-piece')).toEqual([]);
    expect(await checkCacheDir(join(dir, 'd1'), pkg.manifest)).toMatchObject({ corrupt: [], missing: 0, tmpFiles: 0 });
    expect(witness.events.filter((e) => e.event === 'peer-dropped')).toEqual([]);
    expect(Number(witnessReady.fromPeers)).toBeGreaterThan(0);
    expect(await checkCacheDir(join(dir, 'd2'), pkg.manifest)).toMatchObject({ corrupt: [], missing: 0, tmpFiles: 0 });
    // Resumed, not restarted: after the restart the origin serves only pieces the crashed peer's
    // cache lacked, each at most once, although two peers want every piece.
    const cached = new Set(afterCrash.present);
    const served = originPieceBytes()
      .map(([key, bytes]) => [key, bytes - (beforeRestart.get(key) ?? 0)] as const)
      .filter(([, b]) => b > 0);
    for (const [key, bytes] of served) {
      const piece = pieceOf(key);
      expect(cached.has(piece.hash), `${key} was in the cache`).toBe(false);
      expect(bytes, key).toBeLessThanOrEqual(piece.length);
    }
  });
});
