import { describe, expect, it } from 'vitest';
import { MemoryPieceStore } from '../../../shared/pieces/memory-piece-store.ts';
import type { PeerMisbehavedError } from '../../../shared/pieces/errors.ts';
import { PieceSwarm } from '../../../shared/pieces/piece-swarm.ts';
import type { Origin } from '../../../shared/pieces/origin.ts';
import { withVerification } from '../../../shared/pieces/with-verification.ts';
import { systemClock } from '../../../shared/util/clock.ts';
import { seededRng } from '../../util/pieces-fixtures.ts';
import { MemoryOrigin, memoryConnectionPair } from '../../util/pieces-memory.ts';
import { buildSyntheticPackage } from '../../util/pieces-package.ts';

const PIECE = 64 * 1024;

async function swarmOf(
  ids: string[],
  opts: { origin?: Origin; seed?: { id: string; origin: Origin }; stores?: Map<string, MemoryPieceStore> },
  modelId: string,
) {
  const stores = opts.stores ?? new Map<string, MemoryPieceStore>();
  const swarms = new Map<string, PieceSwarm>();
  for (const [i, id] of ids.entries()) {
    if (!stores.has(id)) stores.set(id, new MemoryPieceStore());
    const isSeed = opts.seed?.id === id;
    swarms.set(
      id,
      new PieceSwarm({
        modelId,
        store: withVerification(stores.get(id)!),
        origin: isSeed ? undefined : opts.origin,
        localPackage: isSeed ? opts.seed?.origin : undefined,
        units: () => 'all',
        replicaFull: true,
        self: () => id,
        clock: systemClock,
        rng: seededRng(i + 1),
        tickMs: 20,
      }),
    );
  }
  for (const [id, s] of swarms) s.setMembers(ids.filter((x) => x !== id));
  for (const s of swarms.values()) await s.start();
  return { swarms, stores };
}

function connectAll(swarms: Map<string, PieceSwarm>, tamper?: { id: string; fn: Parameters<typeof evilTamper>[0] }) {
  const ids = [...swarms.keys()];
  for (let i = 0; i < ids.length; i++)
    for (let j = i + 1; j < ids.length; j++) {
      const [a, b] = [ids[i]!, ids[j]!];
      const [ab, ba] = memoryConnectionPair(a, b);
      if (tamper?.id === a) ab.tamper = evilTamper(tamper.fn);
      if (tamper?.id === b) ba.tamper = evilTamper(tamper.fn);
      swarms.get(a)!.addConnection(ab);
      swarms.get(b)!.addConnection(ba);
    }
}

function evilTamper(_kind: 'flip') {
  // Flips one byte of every PIECE it serves (the manifest included): a corrupting peer.
  return (f: import('../../../shared/wire/frame-types.ts').Frame) => {
    if (f.type !== 'PIECE') return f;
    const data = f.data.slice();
    data[0] = (data[0] ?? 0) ^ 0xff;
    return { ...f, data };
  };
}

describe('PieceSwarm over in-memory connections', () => {
  it('six peers from the model id + origin all complete; the origin serves each piece at most once', async () => {
    const pkg = await buildSyntheticPackage({ layers: 3, unitBytes: 5 * PIECE, pieceSize: PIECE, seed: 21 });
    const origin = new MemoryOrigin(pkg.files, PIECE);
    const ids = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6'];
    const { swarms, stores } = await swarmOf(ids, { origin }, pkg.modelId);
    connectAll(swarms);
    await Promise.all([...swarms.values()].map((s) => s.ready));
    for (const [piece, bytes] of origin.bytesByPiece) expect(bytes, piece).toBeLessThanOrEqual(PIECE);
    expect(origin.totalBytes()).toBe(pkg.bytes);
    for (const id of ids) {
      const store = withVerification(stores.get(id)!);
      for (const u of pkg.manifest.units) for (const h of u.pieces) expect(await store.get(h)).toBeDefined();
      expect((await store.getModel(pkg.modelId))?.pieces.length).toBe(pkg.manifest.units.reduce((n, u) => n + u.pieces.length, 0));
    }
    const p = [...swarms.values()].map((s) => s.progress());
    expect(p.reduce((n, x) => n + x.fromPeers, 0)).toBe(5 * pkg.bytes);
    for (const s of swarms.values()) s.close();
  });

  it('drops a peer that serves corrupted pieces; the others complete with verified data', async () => {
    const pkg = await buildSyntheticPackage({ layers: 2, unitBytes: 4 * PIECE, pieceSize: PIECE, seed: 22 });
    const ids = ['evil', 'q1', 'q2', 'q3'];
    const { swarms, stores } = await swarmOf(
      ids,
      { origin: new MemoryOrigin(pkg.files, PIECE), seed: { id: 'evil', origin: new MemoryOrigin(pkg.files, PIECE) } },
      pkg.modelId,
    );
    const dropped: PeerMisbehavedError[] = [];
    for (const [id, s] of swarms) if (id !== 'evil') s.on('peer-dropped', (e) => dropped.push(e));
    connectAll(swarms, { id: 'evil', fn: 'flip' });
    await Promise.all(ids.filter((id) => id !== 'evil').map((id) => swarms.get(id)!.ready));
    expect(dropped.length).toBeGreaterThan(0);
    expect(dropped.every((e) => e.name === 'PeerMisbehavedError' && e.peer === 'evil')).toBe(true);
    for (const id of ids.slice(1)) {
      const raw = stores.get(id)!;
      const verified = withVerification(raw);
      for (const h of await raw.list()) expect(await verified.get(h), h).toBeDefined();
    }
    for (const s of swarms.values()) s.close();
  });

  it('a returning peer is ready from its store alone', async () => {
    const pkg = await buildSyntheticPackage({ layers: 1, unitBytes: 3 * PIECE, pieceSize: PIECE, seed: 23 });
    const origin = new MemoryOrigin(pkg.files, PIECE);
    const stores = new Map<string, MemoryPieceStore>();
    const first = await swarmOf(['r1'], { origin, stores }, pkg.modelId);
    await first.swarms.get('r1')!.ready;
    first.swarms.get('r1')!.close();
    const before = origin.totalBytes();
    const again = await swarmOf(['r1'], { origin, stores }, pkg.modelId);
    await again.swarms.get('r1')!.ready;
    const p = again.swarms.get('r1')!.progress();
    expect(origin.totalBytes()).toBe(before);
    expect(p.fromCache).toBe(pkg.bytes);
    expect(p.fromOrigin + p.fromPeers).toBe(0);
    again.swarms.get('r1')!.close();
  });
});
