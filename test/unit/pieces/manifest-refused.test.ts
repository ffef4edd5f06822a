import { describe, expect, it } from 'vitest';
import { manifestFromFile } from '../../../shared/pieces/manifest-bytes.ts';
import { MemoryPieceStore } from '../../../shared/pieces/memory-piece-store.ts';
import { PieceSwarm } from '../../../shared/pieces/piece-swarm.ts';
import { withVerification } from '../../../shared/pieces/with-verification.ts';
import { systemClock } from '../../../shared/util/clock.ts';
import type { Frame } from '../../../shared/wire/frame-types.ts';
import { seededRng } from '../../util/pieces-fixtures.ts';
import { memoryConnectionPair } from '../../util/pieces-memory.ts';
import { buildSyntheticPackage } from '../../util/pieces-package.ts';

// A joiner with no origin whose first manifest holder answers its REQUEST with REJECT busy (a
// loaded peer) asks the next holder on a later tick, instead of waiting on the first for as long
// as its link stays open (docs/pieces.md, "Exchange").
const PIECE = 64 * 1024;

describe('PieceSwarm manifest fetch', () => {
  it('asks another holder after one refused the manifest, and gets it', async () => {
    const pkg = await buildSyntheticPackage({ layers: 1, unitBytes: PIECE, pieceSize: PIECE, seed: 7 });
    const manifest = (await manifestFromFile(pkg.modelId, pkg.files.get('manifest.json')!)).bytes;
    const joiner = new PieceSwarm({
      modelId: pkg.modelId,
      store: withVerification(new MemoryPieceStore()),
      units: () => [],
      replicaFull: false,
      self: () => 'joiner',
      clock: systemClock,
      rng: seededRng(1),
      tickMs: 20,
    });
    joiner.setMembers(['busy', 'holder'], true);
    await joiner.start();
    const asked: Record<string, number> = {};
    // `busy` refuses every manifest REQUEST; `holder` answers.
    for (const name of ['busy', 'holder']) {
      const [toJoiner, fromJoiner] = memoryConnectionPair(name, 'joiner');
      toJoiner.on('frame', (f) => {
        if (f.type !== 'REQUEST' || f.unit !== 'manifest') return;
        asked[name] = (asked[name] ?? 0) + 1;
        const answer: Frame =
          name === 'busy'
            ? { type: 'REJECT', requestId: f.requestId, unit: f.unit, piece: 0, offset: f.offset, length: f.length, reason: 'busy' }
            : { type: 'PIECE', requestId: f.requestId, unit: f.unit, piece: 0, offset: 0, data: manifest };
        void toJoiner.send(answer);
      });
      joiner.addConnection(fromJoiner);
      void toJoiner.send({ type: 'BITFIELD', requestId: 0, unit: 'manifest', pieceCount: 1, bits: new Uint8Array([0x80]) });
    }

    for (const end = Date.now() + 5000; joiner.manifest === undefined && Date.now() < end;) await new Promise((r) => setTimeout(r, 10));
    expect(joiner.manifest?.name).toBe(JSON.parse(new TextDecoder().decode(pkg.files.get('manifest.json')!)).name);
    expect(asked).toEqual({ busy: 1, holder: 1 });
    joiner.close();
  });
});
