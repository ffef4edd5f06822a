// Offers (BITFIELD, HAVE) a peer made before this side knew the manifest. They cannot be checked
// yet, and must not be lost: a peer that completed before we joined never announces again. So they
// are kept as one bitmap per unit, within a byte budget, and checked once the manifest is known.
import type { PieceDropReason } from './frame-checks.ts';

/**
 * Bytes the held offers of one peer may take (default 1 MiB): bitmaps, unit names and 64 bytes of
 * bookkeeping per unit. An honest peer's offers for the largest models are a few tens of KiB
 * (a bit per piece); only made-up units or indexes reach the budget.
 */
export const DEFAULT_PENDING_OFFER_BYTES = 1024 * 1024;
const UNIT_OVERHEAD_BYTES = 64;

interface UnitOffer {
  /** The piece count its BITFIELD claimed, if one came. */
  declared: number | undefined;
  /** Bit i (MSB first) set: piece i offered. */
  bits: Uint8Array;
}

export class PendingOffers {
  private readonly units = new Map<string, UnitOffer>();
  private bytes = 0;

  constructor(private readonly maxBytes = DEFAULT_PENDING_OFFER_BYTES) {}

  get size(): number {
    return this.units.size;
  }

  /** A unit with held offers (to ask whether the manifest is known yet). */
  firstUnit(): string | undefined {
    for (const name of this.units.keys()) return name;
    return undefined;
  }

  /** Holds a BITFIELD; false when it does not fit the budget (nothing is kept then). */
  bitfield(unit: string, pieceCount: number, bits: Uint8Array): boolean {
    const u = this.unit(unit, Math.ceil(pieceCount / 8));
    if (!u) return false;
    u.declared = pieceCount;
    for (let i = 0; i < bits.byteLength; i++) u.bits[i] = (u.bits[i] ?? 0) | (bits[i] ?? 0);
    return true;
  }

  /** Holds a HAVE; false when it does not fit the budget. */
  have(unit: string, piece: number): boolean {
    const u = this.unit(unit, (piece >> 3) + 1);
    if (!u) return false;
    u.bits[piece >> 3] = (u.bits[piece >> 3] ?? 0) | (0x80 >> (piece & 7));
    return true;
  }

  /**
   * Once the manifest is known (`pieces(unit)`: its piece count, 0 for an unknown unit): calls
   * `offer` for each held offer that fits it and returns a reason for each unit that did not
   * (a wrong bitfield length drops the unit's offers; indexes past the count are dropped).
   */
  drain(pieces: (unit: string) => number, offer: (unit: string, piece: number) => void): PieceDropReason[] {
    const problems: PieceDropReason[] = [];
    for (const [unit, u] of this.units) {
      const count = pieces(unit);
      if (count === 0) {
        problems.push('unknown-unit');
        continue;
      }
      if (u.declared !== undefined && u.declared !== count) {
        problems.push('bitfield-length');
        continue;
      }
      let outOfRange = false;
      for (let i = 0; i < u.bits.byteLength * 8; i++) {
        if (((u.bits[i >> 3] ?? 0) & (0x80 >> (i & 7))) === 0) continue;
        if (i < count) offer(unit, i);
        else outOfRange = true;
      }
      if (outOfRange) problems.push('piece-out-of-range');
    }
    this.units.clear();
    this.bytes = 0;
    return problems;
  }

  /** The unit's record with a bitmap of at least `bytes`, grown within the budget; undefined past it. */
  private unit(name: string, bytes: number): UnitOffer | undefined {
    const u = this.units.get(name);
    const have = u ? u.bits.byteLength : 0;
    const grow = Math.max(0, bytes - have) + (u ? 0 : UNIT_OVERHEAD_BYTES + name.length);
    if (this.bytes + grow > this.maxBytes) return undefined;
    this.bytes += grow;
    if (u && bytes <= have) return u;
    const bits = new Uint8Array(Math.max(bytes, have));
    if (u) bits.set(u.bits);
    const next: UnitOffer = { declared: u?.declared, bits };
    this.units.set(name, next);
    return next;
  }
}
