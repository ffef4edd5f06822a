import { describe, expect, it } from 'vitest';
import { checkExchangeFrame, type PieceDropReason } from '../../../shared/pieces/frame-checks.ts';
import { PendingOffers } from '../../../shared/pieces/pending-offers.ts';
import type { Frame } from '../../../shared/wire/frame-types.ts';

type Exchange = Parameters<typeof checkExchangeFrame>[0];
const bitfield = (unit: string, pieceCount: number): Frame => ({
  type: 'BITFIELD',
  requestId: 0,
  unit,
  pieceCount,
  bits: new Uint8Array(Math.ceil(pieceCount / 8)),
});
const have = (unit: string, piece: number): Frame => ({ type: 'HAVE', requestId: 0, unit, piece });
const request = (unit: string, piece: number): Frame => ({ type: 'REQUEST', requestId: 1, unit, piece, offset: 0, length: 10 });
const cancel = (unit: string, piece: number): Frame => ({ type: 'CANCEL', requestId: 1, unit, piece, offset: 0, length: 10 });
const piece = (unit: string, p: number): Frame => ({ type: 'PIECE', requestId: 1, unit, piece: p, offset: 0, data: new Uint8Array(1) });
const reject = (unit: string, p: number): Frame => ({ type: 'REJECT', requestId: 1, unit, piece: p, offset: 0, length: 1, reason: 'missing' });

// The manifest in these cases: layer-000 has 6 pieces; `pieces` is what the host answers.
describe('checkExchangeFrame', () => {
  it.each<{ frame: Frame; pieces: number | undefined; want: PieceDropReason | undefined }>([
    { frame: bitfield('layer-000', 6), pieces: 6, want: undefined },
    { frame: bitfield('layer-000', 7), pieces: 6, want: 'bitfield-length' },
    { frame: bitfield('layer-000', 60_000), pieces: 6, want: 'bitfield-length' },
    { frame: bitfield('layer-999', 6), pieces: 0, want: 'unknown-unit' },
    { frame: bitfield('layer-999', 60_000), pieces: undefined, want: undefined }, // held until the manifest is known
    { frame: have('layer-000', 5), pieces: 6, want: undefined },
    { frame: have('layer-000', 6), pieces: 6, want: 'piece-out-of-range' },
    { frame: have('nope', 0), pieces: 0, want: 'unknown-unit' },
    { frame: have('layer-000', 6), pieces: undefined, want: undefined },
    { frame: request('layer-000', 0), pieces: 6, want: undefined },
    { frame: request('layer-000', 6), pieces: 6, want: 'piece-out-of-range' },
    { frame: request('ghost', 0), pieces: 0, want: 'unknown-unit' },
    { frame: cancel('layer-000', 9), pieces: 6, want: 'piece-out-of-range' },
    { frame: cancel('ghost', 0), pieces: 0, want: 'unknown-unit' },
    { frame: piece('layer-000', 6), pieces: 6, want: 'piece-out-of-range' },
    { frame: piece('ghost', 0), pieces: 0, want: 'unknown-unit' },
    { frame: reject('layer-000', 7), pieces: 6, want: 'piece-out-of-range' },
    { frame: reject('manifest', 0), pieces: 1, want: undefined },
  ])('$frame.type $frame.unit (manifest says $pieces) → $want', ({ frame, pieces, want }) => {
    expect(checkExchangeFrame(frame as Exchange, pieces)).toBe(want);
  });
});

describe('PendingOffers (offers made before the manifest is known)', () => {
  const counts = (unit: string): number => ({ embed: 3, 'layer-000': 10 })[unit] ?? 0;
  const drain = (p: PendingOffers): { keys: string[]; problems: PieceDropReason[] } => {
    const keys: string[] = [];
    const problems = p.drain(counts, (u, i) => keys.push(`${u}#${i}`));
    return { keys, problems };
  };

  it('keeps bitfields and HAVEs and hands over what fits the manifest', () => {
    const p = new PendingOffers();
    expect(p.bitfield('layer-000', 10, new Uint8Array([0b1000_0001, 0b0100_0000]))).toBe(true);
    expect(p.have('layer-000', 3)).toBe(true);
    expect(p.have('embed', 2)).toBe(true);
    expect(drain(p)).toEqual({ keys: ['layer-000#0', 'layer-000#3', 'layer-000#7', 'layer-000#9', 'embed#2'], problems: [] });
    expect(p.size).toBe(0);
  });

  it('drops a unit the manifest lacks, a wrong bitfield length and indexes past the count, naming each', () => {
    const p = new PendingOffers();
    p.bitfield('layer-000', 16, new Uint8Array([0xff, 0xff])); // the unit has 10 pieces
    p.have('ghost', 0);
    p.have('embed', 1);
    p.have('embed', 40); // embed has 3 pieces
    expect(drain(p)).toEqual({ keys: ['embed#1'], problems: ['bitfield-length', 'unknown-unit', 'piece-out-of-range'] });
  });

  it('refuses what would pass its byte budget: made-up units cannot grow it', () => {
    const p = new PendingOffers(10_000);
    let accepted = 0;
    for (let i = 0; i < 1000; i++) if (p.bitfield(`layer-${String(i).padStart(3, '0')}`, 8000, new Uint8Array(1000))) accepted++;
    expect(accepted).toBe(9); // 9 × (1000 + 64 + 9) ≤ 10 000
    expect(p.have('embed', 65_535)).toBe(false); // an 8 KiB bitmap would not fit either
  });
});
