// Payloads of the piece frames (BITFIELD, HAVE, REQUEST, PIECE, REJECT, CANCEL). Each begins with
// the unit name (u8 length + UTF-8) and the piece index (u32), except BITFIELD, which names a unit
// and carries one bit per piece.
import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { InvalidFrameError } from './errors.ts';
import { MAX_BITFIELD_PIECES } from './frame-limits.ts';
import { REJECT_REASONS, type FrameOf } from './frame-types.ts';

function readUnit(r: ByteReader, what: string): string {
  const unit = r.string('unit', 'u8');
  if (unit.length === 0) throw new InvalidFrameError(`${what}: unit name is empty`);
  return unit;
}

/** A piece index any unit can have (< MAX_BITFIELD_PIECES); the manifest's own bounds are checked above the wire. */
function readPiece(r: ByteReader, what: string): number {
  return checkPiece(r.u32('piece'), what);
}

function checkPiece(piece: number, what: string): number {
  if (piece >= MAX_BITFIELD_PIECES) throw new InvalidFrameError(`${what}: piece ${piece} ≥ ${MAX_BITFIELD_PIECES}, more than any unit has`);
  return piece;
}

function writeUnit(w: ByteWriter, unit: string, what: string): void {
  if (unit.length === 0) throw new InvalidFrameError(`${what}: unit name is empty`);
  w.string(unit, 'u8', 'unit');
}

export function encodeBitfield(w: ByteWriter, f: FrameOf<'BITFIELD'>): void {
  checkBitfield(f.pieceCount, f.bits);
  writeUnit(w, f.unit, 'BITFIELD');
  w.u32(f.pieceCount, 'pieceCount').bytes(f.bits);
}

export function decodeBitfield(r: ByteReader, requestId: number): FrameOf<'BITFIELD'> {
  const unit = readUnit(r, 'BITFIELD');
  const pieceCount = r.u32('pieceCount');
  checkPieceCount(pieceCount); // before the bits are copied
  const bits = r.rest('bits');
  checkBitfield(pieceCount, bits);
  return { type: 'BITFIELD', requestId, unit, pieceCount, bits };
}

/** 1..MAX_BITFIELD_PIECES: what any manifest's unit can have (frame-limits.ts). */
function checkPieceCount(pieceCount: number): void {
  if (!Number.isInteger(pieceCount) || pieceCount < 1 || pieceCount > MAX_BITFIELD_PIECES) {
    throw new InvalidFrameError(`BITFIELD: pieceCount ${pieceCount} outside 1..${MAX_BITFIELD_PIECES}`);
  }
}

/** Exactly ceil(n/8) bytes, and the spare bits of the last byte are 0 (as in BitTorrent). */
function checkBitfield(pieceCount: number, bits: Uint8Array): void {
  checkPieceCount(pieceCount);
  const want = Math.ceil(pieceCount / 8);
  if (bits.byteLength !== want) {
    throw new InvalidFrameError(`BITFIELD: ${pieceCount} pieces need ${want} bytes of bits, got ${bits.byteLength}`);
  }
  const spare = want * 8 - pieceCount;
  const last = bits[want - 1];
  if (spare > 0 && last !== undefined && (last & ((1 << spare) - 1)) !== 0) {
    throw new InvalidFrameError(`BITFIELD: spare bits after piece ${pieceCount - 1} must be 0`);
  }
}

export function encodeHave(w: ByteWriter, f: FrameOf<'HAVE'>): void {
  writeUnit(w, f.unit, 'HAVE');
  w.u32(checkPiece(f.piece, 'HAVE'), 'piece');
}

export function decodeHave(r: ByteReader, requestId: number): FrameOf<'HAVE'> {
  const unit = readUnit(r, 'HAVE');
  return { type: 'HAVE', requestId, unit, piece: readPiece(r, 'HAVE') };
}

type RangeFrame = FrameOf<'REQUEST'> | FrameOf<'CANCEL'>;

export function encodeRange(w: ByteWriter, f: RangeFrame | FrameOf<'REJECT'>): void {
  if (f.type !== 'REJECT' && f.length === 0) throw new InvalidFrameError(`${f.type}: length must be > 0`);
  writeUnit(w, f.unit, f.type);
  w.u32(checkPiece(f.piece, f.type), 'piece').u32(f.offset, 'offset').u32(f.length, 'length');
  if (f.type === 'REJECT') w.u8(REJECT_REASONS.indexOf(f.reason), 'reason');
}

export function decodeRange<T extends RangeFrame['type']>(type: T, r: ByteReader, requestId: number): FrameOf<T> {
  const unit = readUnit(r, type);
  const piece = readPiece(r, type);
  const offset = r.u32('offset');
  const length = r.u32('length');
  if (length === 0) throw new InvalidFrameError(`${type}: length must be > 0`);
  return { type, requestId, unit, piece, offset, length } as FrameOf<T>;
}

export function decodeReject(r: ByteReader, requestId: number): FrameOf<'REJECT'> {
  const unit = readUnit(r, 'REJECT');
  const piece = readPiece(r, 'REJECT');
  const offset = r.u32('offset');
  const length = r.u32('length');
  const code = r.u8('reason');
  const reason = REJECT_REASONS[code];
  if (reason === undefined) throw new InvalidFrameError(`REJECT: unknown reason ${code}`);
  return { type: 'REJECT', requestId, unit, piece, offset, length, reason };
}

export function encodePiece(w: ByteWriter, f: FrameOf<'PIECE'>): void {
  writeUnit(w, f.unit, 'PIECE');
  w.u32(checkPiece(f.piece, 'PIECE'), 'piece').u32(f.offset, 'offset').bytes(f.data);
}

export function decodePiece(r: ByteReader, requestId: number): FrameOf<'PIECE'> {
  const unit = readUnit(r, 'PIECE');
  const piece = readPiece(r, 'PIECE');
  const offset = r.u32('offset');
  return { type: 'PIECE', requestId, unit, piece, offset, data: r.restView('data') };
}
