import { describe, expect, it } from 'vitest';
import { manifestFromFile } from '../../../shared/pieces/manifest-bytes.ts';
import { MemoryPieceStore } from '../../../shared/pieces/memory-piece-store.ts';
import { PieceSwarm } from '../../../shared/pieces/piece-swarm.ts';
import type { Frame } from '../../../shared/wire/frame-types.ts';
import { MemoryOrigin, memoryConnectionPair, memorySwarm } from '../../util/pieces-memory.ts';
import { buildSyntheticPackage } from '../../util/pieces-package.ts';

// a peer that joins after a holder completed must not depend on the holder's first
// BITFIELDs. On a real connection they can arrive before the joiner's swarm session subscribes:
// the transport hands frames that arrived before anyone listened to the first listener only, and
// a ring peer's RingLink subscribes on the transport's `open`, before the swarm gets the
// connection. Here another listener (the ring's place) takes the holder's first frames the same
// way; the joiner has no origin, so peers are its only source.
const PIECE = 64 * 1024;

function settle<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([p, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)))]).finally(() => clearTimeout(timer));
}

async function until(cond: () => boolean, ms: number): Promise<void> {
  for (const end = Date.now() + ms; !cond() && Date.now() < end;) await new Promise((r) => setTimeout(r, 5));
}

describe('PieceSwarm when the first frames of a connection reach another listener', () => {
  it.each([
    { joiner: 'has no manifest yet', cachedManifest: false },
    { joiner: 'has the manifest already (a ring peer that got it from another member)', cachedManifest: true },
  ])('a joiner with no origin that $joiner still gets every piece from a holder that completed before it came', async ({ cachedManifest }) => {
    const pkg = await buildSyntheticPackage({ layers: 2, unitBytes: 3 * PIECE, pieceSize: PIECE, seed: 31 });
    const mk = (id: string, o: { local?: boolean; store?: MemoryPieceStore }): PieceSwarm =>
      memorySwarm(id, pkg.modelId, { ...(o.local ? { localPackage: new MemoryOrigin(pkg.files, PIECE) } : {}), ...(o.store ? { store: o.store } : {}) });
    const seed = mk('seed', { local: true });
    await seed.start();
    await seed.ready;
    const joinerStore = new MemoryPieceStore();
    if (cachedManifest) await joinerStore.put(pkg.modelId, (await manifestFromFile(pkg.modelId, pkg.files.get('manifest.json')!)).bytes);
    const joiner = mk('joiner', { store: joinerStore });
    seed.setMembers(['joiner']);
    joiner.setMembers(['seed'], true);
    await joiner.start();
    expect(joiner.manifest !== undefined).toBe(cachedManifest);

    const [toJoiner, toSeed] = memoryConnectionPair('seed', 'joiner');
    const ringSaw: Frame[] = [];
    toSeed.on('frame', (f) => ringSaw.push(f)); // subscribed first, as RingLink is on `open`
    seed.addConnection(toJoiner); // the holder announces everything it has …
    await until(() => ringSaw.some((f) => f.type === 'BITFIELD' && f.unit !== 'manifest'), 2000);
    expect(ringSaw.some((f) => f.type === 'BITFIELD')).toBe(true); // … before the joiner's session listens
    joiner.addConnection(toSeed);

    expect(
      await settle(
        joiner.ready.then(() => 'ready'),
        5000,
      ),
    ).toBe('ready');
    const p = joiner.progress();
    expect(p).toMatchObject({ bytesDone: pkg.bytes, fromPeers: pkg.bytes, fromOrigin: 0 });
    seed.close();
    joiner.close();
  });
});
