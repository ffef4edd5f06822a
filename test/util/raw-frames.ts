// Frame bytes the codec would refuse to encode, for tests of what a receiver does with them: the
// header written with the wire's own `writeHeader`, any payload and any claimed length.
import { HEADER_BYTES, writeHeader } from '../../shared/wire/header.ts';
import { FLAG_CONT, FLAG_MORE, FLAG_RING_LANE } from '../../shared/wire/header.ts';
import type { FrameTypeName } from '../../shared/wire/frame-types.ts';

export interface RawFrame {
  readonly type: FrameTypeName;
  readonly payload: Uint8Array;
  readonly requestId?: number;
  /** What the header claims (default: the payload's length). */
  readonly payloadLength?: number;
  readonly lane?: 'ring' | 'bulk';
  /** Chunk flags, for a first chunk (`more`) or a continuation (`cont`). */
  readonly more?: boolean;
  readonly cont?: boolean;
}

export function rawFrame(f: RawFrame): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + f.payload.byteLength);
  const flags = (f.lane === 'ring' ? FLAG_RING_LANE : 0) | (f.more ? FLAG_MORE : 0) | (f.cont ? FLAG_CONT : 0);
  writeHeader(out, { type: f.type, flags, requestId: f.requestId ?? 0, payloadLength: f.payloadLength ?? f.payload.byteLength });
  out.set(f.payload, HEADER_BYTES);
  return out;
}

/** A unit name as the wire writes it: u8 length, UTF-8 bytes. */
export function unitBytes(unit: string): Uint8Array {
  const b = new TextEncoder().encode(unit);
  return new Uint8Array([b.byteLength, ...b]);
}

/** A BITFIELD payload claiming `pieceCount` pieces with `bitBytes` bytes of bits (all set when `fill`). */
export function bitfieldPayload(unit: string, pieceCount: number, bitBytes = Math.ceil(pieceCount / 8), fill = 0): Uint8Array {
  const u = unitBytes(unit);
  const out = new Uint8Array(u.byteLength + 4 + bitBytes).fill(fill, u.byteLength + 4);
  out.set(u);
  new DataView(out.buffer).setUint32(u.byteLength, pieceCount);
  return out;
}
