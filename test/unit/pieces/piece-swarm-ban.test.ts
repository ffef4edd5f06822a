import { describe, expect, it } from 'vitest';
import { MemoryPieceStore } from '../../../shared/pieces/memory-piece-store.ts';
import { PieceSwarm } from '../../../shared/pieces/piece-swarm.ts';
import { withVerification } from '../../../shared/pieces/with-verification.ts';
import { systemClock } from '../../../shared/util/clock.ts';
import { seededRng } from '../../util/pieces-fixtures.ts';
import { MemoryOrigin, memoryConnectionPair } from '../../util/pieces-memory.ts';
import { buildSyntheticPackage } from '../../util/pieces-package.ts';

/** A started swarm seeding a one-layer synthetic package from its own origin. */
async function seedingSwarm(packageSeed: number): Promise<PieceSwarm> {
  const pkg = await buildSyntheticPackage({ layers: 1, unitBytes: 64 * 1024, pieceSize: 64 * 1024, seed: packageSeed });
  const swarm = new PieceSwarm({
    modelId: pkg.modelId,
    store: withVerification(new MemoryPieceStore()),
    localPackage: new MemoryOrigin(pkg.files, 64 * 1024),
    units: () => 'all',
    replicaFull: true,
    self: () => 'seed',
    clock: systemClock,
    rng: seededRng(1),
    tickMs: 20,
  });
  await swarm.start();
  return swarm;
}

// A member another layer (the ring) banned stops exchanging pieces too: its open session ends and
// a connection it opens later is closed as it arrives, so a ban is not undone by a re-dial.
describe('PieceSwarm.ban', () => {
  it("ends the banned peer's session and closes its later connections", async () => {
    const seed = await seedingSwarm(5);
    const [first] = memoryConnectionPair('seed', 'mallory');
    seed.addConnection(first);
    expect(first.closed).toBe(false);
    seed.ban('mallory', 'forged ring frames');
    expect(first.closed).toBe(true);
    expect(seed.isBanned('mallory')).toBe(true);
    const [again] = memoryConnectionPair('seed', 'mallory');
    seed.addConnection(again);
    expect(again.closed).toBe(true);
    seed.close();
  });
});

describe('PieceSwarm.addConnection', () => {
  it('ignores a connection that closed before the swarm heard of it: no session is left listed', async () => {
    const seed = await seedingSwarm(6);
    const [gone] = memoryConnectionPair('seed', 'carol');
    gone.close('closed by another layer');
    seed.addConnection(gone);
    expect(seed.connectedPeers()).not.toContain('carol');
    // The same member's next connection gets a session.
    const [next] = memoryConnectionPair('seed', 'carol');
    seed.addConnection(next);
    expect(seed.connectedPeers()).toContain('carol');
    seed.close();
  });
});
