// What a piece-exchange frame may say given the manifest (docs/pieces.md, "Hostile peers"): the
// wire codec already bounds every field; here a frame is held against the units and piece counts
// of the model this room is for. Pure, so the table of cases is tested on its own.
import type { Frame } from '../wire/frame-types.ts';

/**
 * Why the piece layer dropped a frame. The first three are violations (an honest peer has the same
 * manifest and never sends them; repeated, they close the link); the others are counted only.
 */
export type PieceDropReason =
  | 'unknown-unit' // names a unit the manifest does not list
  | 'piece-out-of-range' // a piece index ≥ its unit's piece count
  | 'bitfield-length' // a BITFIELD whose piece count is not its unit's
  | 'offers-overflow' // offers held before the manifest is known, past their budget
  | 'serve-queue-full' // REQUESTs beyond what one peer may have queued (answered REJECT busy)
  | 'unsolicited-piece'; // a PIECE answering no request of ours (a cancelled one: normal in endgame)

export const VIOLATIONS: ReadonlySet<PieceDropReason> = new Set(['unknown-unit', 'piece-out-of-range', 'bitfield-length', 'offers-overflow']);

type ExchangeFrame = Extract<Frame, { type: 'BITFIELD' | 'HAVE' | 'REQUEST' | 'PIECE' | 'REJECT' | 'CANCEL' }>;

export function isExchangeFrame(f: Frame): f is ExchangeFrame {
  return f.type === 'BITFIELD' || f.type === 'HAVE' || f.type === 'REQUEST' || f.type === 'PIECE' || f.type === 'REJECT' || f.type === 'CANCEL';
}

/**
 * The reason to drop `f`, or undefined to accept it. `pieces` is the manifest's piece count for
 * `f.unit` (0: no such unit), or undefined while the manifest is not known: then everything the
 * codec let through is accepted (offers are held, bounded, until it is: pending-offers.ts).
 */
export function checkExchangeFrame(f: ExchangeFrame, pieces: number | undefined): PieceDropReason | undefined {
  if (pieces === undefined) return undefined;
  if (pieces === 0) return 'unknown-unit';
  if (f.type === 'BITFIELD') return f.pieceCount === pieces ? undefined : 'bitfield-length';
  return f.piece < pieces ? undefined : 'piece-out-of-range';
}
