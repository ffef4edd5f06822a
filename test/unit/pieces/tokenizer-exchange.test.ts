// The tokenizer between peers (docs/pieces.md, "Tokenizer"): a peer joined by model id gets it from
// a seed in ranged pseudo-piece requests, checked against the manifest; a peer that sends other
// bytes is banned and the next one is asked; with nobody holding it the fetch ends at its deadline.
import { describe, expect, it } from 'vitest';
import type { PeerMisbehavedError } from '../../../shared/pieces/errors.ts';
import type { Origin } from '../../../shared/pieces/origin.ts';
import { PieceSwarm } from '../../../shared/pieces/piece-swarm.ts';
import { fetchTokenizerFromPeers, MAX_TOKENIZER_BYTES, TokenizerTooLargeError } from '../../../shared/pieces/tokenizer-exchange.ts';
import { systemClock } from '../../../shared/util/clock.ts';
import type { Frame } from '../../../shared/wire/frame-types.ts';
import { MemoryOrigin, memoryConnectionPair, memorySwarm } from '../../util/pieces-memory.ts';
import { buildSyntheticPackage, type SyntheticPackage } from '../../util/pieces-package.ts';

const PIECE = 16 * 1024;

function swarm(id: string, modelId: string, localPackage?: Origin): PieceSwarm {
  return memorySwarm(id, modelId, localPackage ? { localPackage } : {});
}

/** Connects `joiner` to each of `others`, in order (the order it asks them in). */
function link(joiner: [string, PieceSwarm], others: [string, PieceSwarm, ((f: Frame) => Frame)?][]): void {
  for (const [id, s, tamper] of others) {
    const [ab, ba] = memoryConnectionPair(id, joiner[0]);
    if (tamper) ab.tamper = tamper;
    s.addConnection(ab);
    joiner[1].addConnection(ba);
  }
}

const flipTokenizer = (f: Frame): Frame => {
  if (f.type !== 'PIECE' || f.unit !== 'tokenizer') return f;
  const data = f.data.slice();
  data[0] = (data[0] ?? 0) ^ 0xff;
  return { ...f, data };
};

async function pkg(seed: number): Promise<SyntheticPackage> {
  return buildSyntheticPackage({ layers: 1, unitBytes: 2 * PIECE, pieceSize: PIECE, seed });
}

describe('the tokenizer from peers', () => {
  it("a peer joined by model id gets the seed's tokenizer in ranged requests", async () => {
    const p = await pkg(41);
    const seed = swarm('seed', p.modelId, new MemoryOrigin(p.files, PIECE));
    const joiner = swarm('joiner', p.modelId);
    await Promise.all([seed.start(), joiner.start()]);
    link(['joiner', joiner], [['seed', seed]]);
    const manifest = await joiner.ready;
    const bytes = await fetchTokenizerFromPeers(manifest.tokenizer, joiner, { clock: systemClock, timeoutMs: 10_000, chunkBytes: 16 });
    expect(bytes).toEqual(p.files.get('tokenizer.json'));
    // Held now, the joiner serves it onward to a third peer.
    joiner.holdTokenizer(bytes!);
    const third = swarm('third', p.modelId);
    await third.start();
    link(['third', third], [['joiner', joiner]]);
    await third.ready;
    expect(await fetchTokenizerFromPeers(manifest.tokenizer, third, { clock: systemClock, timeoutMs: 10_000 })).toEqual(bytes);
    for (const s of [seed, joiner, third]) s.close();
  });

  it("a peer that sends a tokenizer with another hash is banned; the next peer's copy is used", async () => {
    const p = await pkg(42);
    const liar = swarm('liar', p.modelId, new MemoryOrigin(p.files, PIECE));
    const honest = swarm('honest', p.modelId, new MemoryOrigin(p.files, PIECE));
    const joiner = swarm('joiner', p.modelId);
    await Promise.all([liar.start(), honest.start(), joiner.start()]);
    const dropped: PeerMisbehavedError[] = [];
    joiner.on('peer-dropped', (e) => dropped.push(e));
    link(
      ['joiner', joiner],
      [
        ['liar', liar, flipTokenizer],
        ['honest', honest],
      ],
    );
    const manifest = await joiner.ready;
    expect(joiner.connectedPeers()).toEqual(['liar', 'honest']);
    const bytes = await fetchTokenizerFromPeers(manifest.tokenizer, joiner, { clock: systemClock, timeoutMs: 10_000 });
    expect(bytes).toEqual(p.files.get('tokenizer.json'));
    expect(dropped.map((e) => e.peer)).toEqual(['liar']);
    expect(dropped[0]?.message).toMatch(/tokenizer with sha256/);
    expect(joiner.isBanned('liar')).toBe(true);
    for (const s of [liar, honest, joiner]) s.close();
  });

  it('with no peer holding it, the fetch ends empty at its deadline and bans nobody', async () => {
    const p = await pkg(43);
    const seed = swarm('seed', p.modelId, new MemoryOrigin(p.files, PIECE));
    const fetched = swarm('fetched', p.modelId); // has every piece, but never got the tokenizer
    await Promise.all([seed.start(), fetched.start()]);
    link(['fetched', fetched], [['seed', seed]]);
    const manifest = await fetched.ready;
    seed.close();
    const joiner = swarm('joiner', p.modelId);
    await joiner.start();
    link(['joiner', joiner], [['fetched', fetched]]);
    await joiner.ready;
    const dropped: PeerMisbehavedError[] = [];
    joiner.on('peer-dropped', (e) => dropped.push(e));
    expect(await fetchTokenizerFromPeers(manifest.tokenizer, joiner, { clock: systemClock, timeoutMs: 300, retryMs: 50 })).toBeUndefined();
    expect(dropped).toEqual([]);
    for (const s of [fetched, joiner]) s.close();
  });

  it('a manifest naming a tokenizer over the limit is refused before anyone is asked', async () => {
    const p = await pkg(44);
    const asked: string[] = [];
    const peers = { connectedPeers: () => ['x'], probePeer: async () => (asked.push('x'), { kind: 'timeout' as const }), ban: () => undefined };
    await expect(
      fetchTokenizerFromPeers({ ...p.manifest.tokenizer, bytes: MAX_TOKENIZER_BYTES + 1 }, peers, { clock: systemClock, timeoutMs: 100 }),
    ).rejects.toBeInstanceOf(TokenizerTooLargeError);
    expect(asked).toEqual([]);
  });
});
