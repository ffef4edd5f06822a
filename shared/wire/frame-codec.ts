import { ByteReader } from './byte-reader.ts';
import { ByteWriter } from './byte-writer.ts';
import { decodeCredit, decodePing, decodePong, encodeCredit, encodePing, encodePong } from './control-payloads.ts';
import { FrameTooLargeError, FrameTruncatedError, InvalidFrameError } from './errors.ts';
import { maxPayloadBytes } from './frame-limits.ts';
import type { Frame, FrameOf, FrameTypeName } from './frame-types.ts';
import { FLAG_CONT, FLAG_MORE, HEADER_BYTES, readHeader, writeHeader } from './header.ts';
import { decodeBitfield, decodeHave, decodePiece, decodeRange, decodeReject, encodeBitfield, encodeHave, encodePiece, encodeRange } from './piece-payloads.ts';
import { decodeActivation, decodeSessionEnd, decodeToken, encodeActivation, encodeSessionEnd, encodeToken } from './ring-payloads.ts';
import { decodeSessionInit, encodeSessionInit } from './session-init-payload.ts';

/** Largest frame payload accepted by default (a 4 MiB piece or a long prefill activation fits easily). */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;

type Codec<T extends FrameTypeName> = {
  encode(w: ByteWriter, f: FrameOf<T>): void;
  decode(r: ByteReader, requestId: number): FrameOf<T>;
};

const CODECS: { [T in FrameTypeName]: Codec<T> } = {
  BITFIELD: { encode: encodeBitfield, decode: decodeBitfield },
  HAVE: { encode: encodeHave, decode: decodeHave },
  REQUEST: { encode: encodeRange, decode: (r, id) => decodeRange('REQUEST', r, id) },
  PIECE: { encode: encodePiece, decode: decodePiece },
  REJECT: { encode: encodeRange, decode: decodeReject },
  CANCEL: { encode: encodeRange, decode: (r, id) => decodeRange('CANCEL', r, id) },
  ACTIVATION: { encode: encodeActivation, decode: decodeActivation },
  TOKEN: { encode: encodeToken, decode: decodeToken },
  SESSION_END: { encode: encodeSessionEnd, decode: decodeSessionEnd },
  SESSION_INIT: { encode: encodeSessionInit, decode: decodeSessionInit },
  PING: { encode: encodePing, decode: decodePing },
  PONG: { encode: encodePong, decode: decodePong },
  CREDIT: { encode: encodeCredit, decode: decodeCredit },
};

/**
 * Encodes one frame as a single message: header + payload. Throws `InvalidFrameError` for values the
 * wire cannot carry (out-of-range integers, shape/byte mismatch…). Split the result with
 * `splitFrame` before sending it on a data channel if it exceeds the message limit.
 */
export function encodeFrame(frame: Frame, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Uint8Array {
  const codec = CODECS[frame.type] as Codec<FrameTypeName> | undefined;
  if (codec === undefined) throw new InvalidFrameError(`unknown frame type ${String(frame.type)}`);
  const w = new ByteWriter(frame.type, HEADER_BYTES + 64 + payloadHint(frame));
  w.bytes(new Uint8Array(HEADER_BYTES));
  codec.encode(w, frame);
  const out = w.finish();
  const payloadLength = out.byteLength - HEADER_BYTES;
  checkPayloadLength(frame.type, payloadLength, maxFrameBytes);
  if (!Number.isInteger(frame.requestId) || frame.requestId < 0 || frame.requestId > 0xffffffff) {
    throw new InvalidFrameError(`${frame.type}: requestId must be a u32, got ${frame.requestId}`);
  }
  writeHeader(out, { type: frame.type, flags: 0, requestId: frame.requestId, payloadLength });
  return out;
}

/**
 * A frame encoded as parts whose concatenation is `encodeFrame(frame)`: a PIECE as its header and
 * fields, then its data as given (not copied), so a transport that writes parts (a socket) sends a
 * 4 MiB piece without first copying it into a frame; every other frame as one part.
 */
export function encodeFrameParts(frame: Frame, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Uint8Array[] {
  if (frame.type !== 'PIECE' || frame.data.byteLength === 0) return [encodeFrame(frame, maxFrameBytes)];
  const head = encodeFrame({ ...frame, data: new Uint8Array(0) }, maxFrameBytes);
  const payloadLength = head.byteLength - HEADER_BYTES + frame.data.byteLength;
  checkPayloadLength('PIECE', payloadLength, maxFrameBytes);
  writeHeader(head, { type: 'PIECE', flags: 0, requestId: frame.requestId, payloadLength });
  return [head, frame.data];
}

/**
 * Throws `FrameTooLargeError` when a payload exceeds its type's cap (frame-limits.ts) or
 * `maxFrameBytes`: on encode (the sender learns at once) and on a received header, before its
 * frame is buffered or decoded.
 */
export function checkPayloadLength(type: FrameTypeName, payloadLength: number, maxFrameBytes: number): void {
  const cap = maxPayloadBytes(type, maxFrameBytes);
  if (payloadLength > cap) throw new FrameTooLargeError(`${type}: payload of ${payloadLength} bytes exceeds ${cap}`);
}

function payloadHint(f: Frame): number {
  if (f.type === 'PIECE') return f.data.byteLength;
  if (f.type === 'ACTIVATION') return f.tensor.data.byteLength;
  if (f.type === 'BITFIELD') return f.bits.byteLength;
  return 0;
}

/**
 * Decodes one complete, unchunked frame (header + exactly `payload length` bytes). Untrusted input:
 * throws only `WireError` subclasses.
 */
export function decodeFrame(bytes: Uint8Array, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Frame {
  const h = readHeader(bytes);
  if ((h.flags & (FLAG_MORE | FLAG_CONT)) !== 0) throw new InvalidFrameError(`${h.type}: chunk flags set on a whole frame; reassemble first`);
  checkPayloadLength(h.type, h.payloadLength, maxFrameBytes);
  const body = bytes.byteLength - HEADER_BYTES;
  if (body < h.payloadLength) throw new FrameTruncatedError(`${h.type}: header says ${h.payloadLength} payload bytes, got ${body}`);
  if (body > h.payloadLength) throw new InvalidFrameError(`${h.type}: ${body - h.payloadLength} bytes after the payload`);
  const r = new ByteReader(bytes.subarray(HEADER_BYTES), h.type);
  const frame = (CODECS[h.type] as Codec<FrameTypeName>).decode(r, h.requestId);
  r.end();
  return frame;
}
