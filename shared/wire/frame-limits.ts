// How many bytes each frame type may claim (docs/wire-protocol.md, "Limits"). The header's payload
// length is the remote's word: checked against these before a byte of the frame is buffered, so a
// frame cannot make a receiver allocate, wait for or decode more than its type ever needs.
import type { FrameTypeName } from './frame-types.ts';

/**
 * Most pieces one unit may have, and so one BITFIELD may describe (an 8 KiB bitfield): 256 GiB
 * per unit at the default 4 MiB piece, 16 GiB at 256 KiB. Enforced by the codec before any manifest
 * is known; once it is, a bitfield must match its unit's count exactly (shared/pieces).
 */
export const MAX_BITFIELD_PIECES = 65_536;

/** Payload cap of the small frames (piece exchange, PING/PONG/CREDIT, TOKEN, SESSION_*): 64 KiB. */
export const CONTROL_FRAME_MAX_BYTES = 64 * 1024;

/**
 * Largest piece (or manifest, which travels as a piece) a PIECE may carry: 16 MiB, 4× the default
 * piece size. The fields before the data (unit, piece, offset) add at most 264 bytes.
 */
const MAX_PIECE_DATA_BYTES = 16 * 1024 * 1024;
export const PIECE_FRAME_MAX_BYTES = MAX_PIECE_DATA_BYTES + 1024;

/** A long prefill's hidden states (the ring checks shapes further): 64 MiB. */
export const ACTIVATION_FRAME_MAX_BYTES = 64 * 1024 * 1024;

const CAPS: { readonly [T in FrameTypeName]: number } = {
  BITFIELD: CONTROL_FRAME_MAX_BYTES,
  HAVE: CONTROL_FRAME_MAX_BYTES,
  REQUEST: CONTROL_FRAME_MAX_BYTES,
  PIECE: PIECE_FRAME_MAX_BYTES,
  REJECT: CONTROL_FRAME_MAX_BYTES,
  CANCEL: CONTROL_FRAME_MAX_BYTES,
  ACTIVATION: ACTIVATION_FRAME_MAX_BYTES,
  TOKEN: CONTROL_FRAME_MAX_BYTES,
  SESSION_END: CONTROL_FRAME_MAX_BYTES,
  SESSION_INIT: CONTROL_FRAME_MAX_BYTES,
  PING: CONTROL_FRAME_MAX_BYTES,
  PONG: CONTROL_FRAME_MAX_BYTES,
  CREDIT: CONTROL_FRAME_MAX_BYTES,
};

/** The payload cap of `type`, never above the connection's overall `maxFrameBytes`. */
export function maxPayloadBytes(type: FrameTypeName, maxFrameBytes: number): number {
  return Math.min(CAPS[type], maxFrameBytes);
}

/**
 * Bytes one connection may hold for frames still being reassembled: an ACTIVATION on the ring lane
 * beside a PIECE on the bulk lane, the most that honest traffic ever has in flight at once.
 */
export const DEFAULT_MAX_REASSEMBLY_BYTES = ACTIVATION_FRAME_MAX_BYTES + PIECE_FRAME_MAX_BYTES;
