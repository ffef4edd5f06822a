import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../shared/crypto/sha256.ts';
import { DEFAULT_HOLDING_POLICY, judgeAnswer, pickChallenges, proofOf, stagePieces, type Challenge } from '../../../shared/ring/holding-challenges.ts';
import { keyOf, type PieceRef } from '../../../shared/pieces/piece-ref.ts';
import { seededRng } from '../../util/pieces-fixtures.ts';
import { buildSyntheticPackage } from '../../util/pieces-package.ts';

const PIECE = 4096;
const pkg = await buildSyntheticPackage({ layers: 4, unitBytes: 3 * PIECE, pieceSize: PIECE, seed: 7 });

describe('stagePieces', () => {
  it('lists the pieces of the stage’s units: embed on the first stage, head on the last', () => {
    const units = (start: number, end: number): string[] => [...new Set(stagePieces(pkg.manifest, { start, end }).map((r) => r.unit))];
    expect(units(0, 2)).toEqual(['embed', 'layer-000', 'layer-001']);
    expect(units(1, 3)).toEqual(['layer-001', 'layer-002']);
    expect(units(3, 4)).toEqual(['layer-003', 'head']);
  });
});

describe('pickChallenges', () => {
  const pieces = stagePieces(pkg.manifest, { start: 1, end: 3 });

  it('asks for ranges of distinct held pieces, inside each piece, the same for the same seed', () => {
    const picks = pickChallenges(pieces, () => true, DEFAULT_HOLDING_POLICY, seededRng(1));
    expect(picks).toHaveLength(4);
    expect(new Set(picks.map((c) => keyOf(c.ref))).size).toBe(4);
    for (const c of picks) {
      expect(c.whole).toBe(false);
      expect(c.length).toBe(64);
      expect(c.offset).toBeGreaterThanOrEqual(0);
      expect(c.offset + c.length).toBeLessThanOrEqual(c.ref.length);
    }
    expect(pickChallenges(pieces, () => true, DEFAULT_HOLDING_POLICY, seededRng(1))).toEqual(picks);
    expect(pickChallenges(pieces, () => true, DEFAULT_HOLDING_POLICY, seededRng(2))).not.toEqual(picks);
  });

  it('picks only pieces the challenger holds, fewer when it holds fewer', () => {
    const held = new Set([keyOf(pieces[0]!), keyOf(pieces[3]!)]);
    const picks = pickChallenges(pieces, (r) => held.has(keyOf(r)), DEFAULT_HOLDING_POLICY, seededRng(3));
    expect(picks.map((c) => keyOf(c.ref)).sort()).toEqual([...held].sort());
  });

  it('asks for one whole piece when it holds none of them', () => {
    const picks = pickChallenges(pieces, () => false, DEFAULT_HOLDING_POLICY, seededRng(4));
    expect(picks).toHaveLength(1);
    expect(picks[0]).toMatchObject({ offset: 0, whole: true });
    expect(picks[0]!.length).toBe(picks[0]!.ref.length);
  });

  it('covers every offset of a piece over many seeds, including its last byte (a short last piece too)', () => {
    const short = pieces.find((r) => r.length < PIECE)!;
    const offsets = new Set<number>();
    const rng = seededRng(5);
    for (let i = 0; i < 20_000; i++) offsets.add(pickChallenges([short], () => true, { challenges: 1, rangeBytes: 64 }, rng)[0]!.offset);
    expect(Math.min(...offsets)).toBe(0);
    expect(Math.max(...offsets)).toBe(short.length - 64);
  });

  it('asks a piece shorter than the range for all of it', () => {
    const tiny: PieceRef = { ...pieces[0]!, length: 10 };
    expect(pickChallenges([tiny], () => true, DEFAULT_HOLDING_POLICY, seededRng(6))).toEqual([{ ref: tiny, offset: 0, length: 10, whole: false }]);
  });
});

describe('judgeAnswer and proofOf', () => {
  const ref = stagePieces(pkg.manifest, { start: 0, end: 1 })[1]!;
  const bytes = pkg.files.get(ref.file)!.subarray(ref.offset, ref.offset + ref.length);
  const ranged: Challenge = { ref, offset: 100, length: 64, whole: false };
  const whole: Challenge = { ref, offset: 0, length: ref.length, whole: true };
  const expected = bytes.subarray(100, 164);

  it('accepts the right bytes and refuses wrong, short or refused answers', async () => {
    expect(await judgeAnswer(ranged, { kind: 'data', data: expected.slice() }, expected, sha256Hex)).toEqual({ kind: 'held' });
    const flipped = expected.slice();
    flipped[63]! ^= 1;
    expect(await judgeAnswer(ranged, { kind: 'data', data: flipped }, expected, sha256Hex)).toMatchObject({ kind: 'wrong' });
    expect(await judgeAnswer(ranged, { kind: 'data', data: expected.subarray(0, 63) }, expected, sha256Hex)).toMatchObject({ kind: 'wrong' });
    expect(await judgeAnswer(ranged, { kind: 'rejected', reason: 'missing' }, expected, sha256Hex)).toMatchObject({
      kind: 'wrong',
      detail: expect.stringMatching(/refused \(missing\)/),
    });
    expect(await judgeAnswer(ranged, { kind: 'invalid', detail: 'other piece' }, expected, sha256Hex)).toMatchObject({ kind: 'wrong' });
  });

  it('checks a whole piece against the manifest’s hash', async () => {
    expect(await judgeAnswer(whole, { kind: 'data', data: bytes.slice() }, undefined, sha256Hex)).toEqual({ kind: 'held' });
    const bad = bytes.slice();
    bad[0]! ^= 0xff;
    expect(await judgeAnswer(whole, { kind: 'data', data: bad }, undefined, sha256Hex)).toMatchObject({
      kind: 'wrong',
      detail: expect.stringMatching(/sha256/),
    });
  });

  it('gives no verdict on silence, a missing link or a busy peer', async () => {
    expect(await judgeAnswer(ranged, { kind: 'timeout' }, expected, sha256Hex)).toMatchObject({ kind: 'unanswered', silent: true });
    expect(await judgeAnswer(ranged, { kind: 'unreachable' }, expected, sha256Hex)).toMatchObject({ kind: 'unanswered', silent: false });
    expect(await judgeAnswer(ranged, { kind: 'rejected', reason: 'busy' }, expected, sha256Hex)).toMatchObject({ kind: 'unanswered', silent: false });
  });

  it('one wrong answer fails a proof; all held prove it; otherwise another round', () => {
    const held = { kind: 'held' } as const;
    const open = { kind: 'unanswered', detail: 'x: timeout', silent: true } as const;
    expect(proofOf([held, held])).toEqual({ kind: 'proven' });
    expect(proofOf([held, open, { kind: 'wrong', detail: 'bad' }])).toEqual({ kind: 'failed', detail: 'bad' });
    expect(proofOf([held, open])).toEqual({ kind: 'retry', detail: 'x: timeout' });
    expect(proofOf([])).toMatchObject({ kind: 'retry' });
  });
});
