import { BadMagicError, FrameTruncatedError, InvalidFrameError, UnknownFrameTypeError, UnsupportedVersionError } from './errors.ts';
import { FRAME_TYPES, type FrameTypeName } from './frame-types.ts';

/**
 * Every channel message starts with this 16-byte header (big-endian):
 *
 * | offset | size | field                                           |
 * | 0      | 2    | magic 0x524D ("RM")                             |
 * | 2      | 1    | version (1)                                     |
 * | 3      | 1    | frame type (FRAME_TYPES)                        |
 * | 4      | 1    | flags: bit0 RING lane, bit1 MORE, bit2 CONT     |
 * | 5      | 3    | reserved, must be 0                             |
 * | 8      | 4    | request id                                      |
 * | 12     | 4    | payload length of the whole frame               |
 *
 * A frame that fits in one message has MORE=0, CONT=0 and exactly `payload length` bytes after the
 * header. A bigger frame is split (see chunking.ts): every chunk repeats the header, sets MORE on
 * all but the last and CONT on all but the first.
 */
export const HEADER_BYTES = 16;
const MAGIC = 0x524d;
const WIRE_VERSION = 1;

export const FLAG_RING_LANE = 0b001;
export const FLAG_MORE = 0b010;
export const FLAG_CONT = 0b100;
const KNOWN_FLAGS = FLAG_RING_LANE | FLAG_MORE | FLAG_CONT;

export interface FrameHeader {
  type: FrameTypeName;
  flags: number;
  requestId: number;
  payloadLength: number;
}

const NAME_BY_CODE = new Map<number, FrameTypeName>((Object.entries(FRAME_TYPES) as [FrameTypeName, number][]).map(([name, code]) => [code, name]));

export function writeHeader(out: Uint8Array, h: FrameHeader): void {
  const v = new DataView(out.buffer, out.byteOffset, HEADER_BYTES);
  v.setUint16(0, MAGIC);
  v.setUint8(2, WIRE_VERSION);
  v.setUint8(3, FRAME_TYPES[h.type]);
  v.setUint8(4, h.flags);
  v.setUint8(5, 0);
  v.setUint16(6, 0);
  v.setUint32(8, h.requestId);
  v.setUint32(12, h.payloadLength);
}

/** Parses and validates the header of one channel message (untrusted bytes). */
export function readHeader(msg: Uint8Array): FrameHeader {
  if (msg.byteLength < HEADER_BYTES) {
    throw new FrameTruncatedError(`message of ${msg.byteLength} bytes is shorter than the ${HEADER_BYTES}-byte header`);
  }
  const v = new DataView(msg.buffer, msg.byteOffset, HEADER_BYTES);
  const magic = v.getUint16(0);
  if (magic !== MAGIC) throw new BadMagicError(`bad magic 0x${magic.toString(16).padStart(4, '0')}, expected 0x524d ("RM")`);
  const version = v.getUint8(2);
  if (version !== WIRE_VERSION) throw new UnsupportedVersionError(`wire version ${version}, this peer speaks ${WIRE_VERSION}`);
  const code = v.getUint8(3);
  const type = NAME_BY_CODE.get(code);
  if (type === undefined) throw new UnknownFrameTypeError(`unknown frame type ${code}`);
  const flags = v.getUint8(4);
  if ((flags & ~KNOWN_FLAGS) !== 0) throw new InvalidFrameError(`${type}: unknown flag bits 0x${flags.toString(16)}`);
  if (v.getUint8(5) !== 0 || v.getUint16(6) !== 0) throw new InvalidFrameError(`${type}: reserved header bytes must be 0`);
  return { type, flags, requestId: v.getUint32(8), payloadLength: v.getUint32(12) };
}
