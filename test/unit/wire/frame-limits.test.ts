import { describe, expect, it } from 'vitest';
import { ACTIVATION_FRAME_MAX_BYTES, CONTROL_FRAME_MAX_BYTES, MAX_BITFIELD_PIECES, PIECE_FRAME_MAX_BYTES } from '../../../shared/wire/frame-limits.ts';
import {
  decodeFrame,
  encodeFrame,
  FRAME_TYPES,
  FrameAssembler,
  FrameTooLargeError,
  InvalidFrameError,
  splitFrame,
  type FrameTypeName,
} from '../../../shared/wire/index.ts';
import { bitfieldPayload, rawFrame, unitBytes } from '../../util/raw-frames.ts';
import { SAMPLE_FRAMES } from './sample-frames.ts';

const CAP: Record<FrameTypeName, number> = {
  BITFIELD: CONTROL_FRAME_MAX_BYTES,
  HAVE: CONTROL_FRAME_MAX_BYTES,
  REQUEST: CONTROL_FRAME_MAX_BYTES,
  REJECT: CONTROL_FRAME_MAX_BYTES,
  CANCEL: CONTROL_FRAME_MAX_BYTES,
  TOKEN: CONTROL_FRAME_MAX_BYTES,
  SESSION_END: CONTROL_FRAME_MAX_BYTES,
  SESSION_INIT: CONTROL_FRAME_MAX_BYTES,
  PING: CONTROL_FRAME_MAX_BYTES,
  PONG: CONTROL_FRAME_MAX_BYTES,
  CREDIT: CONTROL_FRAME_MAX_BYTES,
  PIECE: PIECE_FRAME_MAX_BYTES,
  ACTIVATION: ACTIVATION_FRAME_MAX_BYTES,
};
const TYPES = Object.keys(FRAME_TYPES) as FrameTypeName[];

/** A piece-exchange payload with `piece` as its index (HAVE: unit + u32). */
function havePayload(unit: string, piece: number): Uint8Array {
  const u = unitBytes(unit);
  const out = new Uint8Array(u.byteLength + 4);
  out.set(u);
  new DataView(out.buffer).setUint32(u.byteLength, piece);
  return out;
}

describe('per-type frame limits', () => {
  it.each(TYPES)('%s: a first chunk claiming one byte over its cap is refused before anything is buffered', (type) => {
    const a = new FrameAssembler({ maxFrameBytes: 1 << 30 });
    const first = rawFrame({ type, payload: new Uint8Array(100), payloadLength: CAP[type] + 1, more: true });
    expect(() => a.push(first)).toThrow(FrameTooLargeError);
    expect(a.pendingBytes).toBe(0);
  });

  it.each(TYPES)('%s: a first chunk claiming exactly its cap is held', (type) => {
    const a = new FrameAssembler({ maxFrameBytes: 1 << 30 });
    a.push(rawFrame({ type, payload: new Uint8Array(100), payloadLength: CAP[type], more: true }));
    expect(a.pendingBytes).toBe(100);
  });

  it.each(TYPES)('%s: a whole frame over its cap is refused by decodeFrame', (type) => {
    expect(() => decodeFrame(rawFrame({ type, payload: new Uint8Array(CAP[type] + 1) }), 1 << 30)).toThrow(FrameTooLargeError);
  });

  it('the connection-wide maxFrameBytes still applies below a type cap', () => {
    const a = new FrameAssembler({ maxFrameBytes: 1000 });
    expect(() => a.push(rawFrame({ type: 'ACTIVATION', payload: new Uint8Array(10), payloadLength: 1001, more: true }))).toThrow(FrameTooLargeError);
  });

  it('refuses to encode a frame over its cap (the sender learns at once)', () => {
    const piece = { ...SAMPLE_FRAMES.PIECE, data: new Uint8Array(PIECE_FRAME_MAX_BYTES) };
    expect(() => encodeFrame(piece)).toThrow(FrameTooLargeError);
  });

  it('bounds the bytes of partial frames held per connection (both lanes together)', () => {
    const a = new FrameAssembler({ maxReassemblyBytes: 150_000 });
    a.push(rawFrame({ type: 'PIECE', payload: new Uint8Array(60_000), payloadLength: 1_000_000, more: true, lane: 'bulk' }));
    a.push(rawFrame({ type: 'ACTIVATION', payload: new Uint8Array(60_000), payloadLength: 1_000_000, more: true, lane: 'ring' }));
    expect(a.pendingBytes).toBe(120_000);
    const next = rawFrame({ type: 'PIECE', payload: new Uint8Array(60_000), payloadLength: 1_000_000, cont: true, more: true, lane: 'bulk' });
    expect(() => a.push(next)).toThrow(FrameTooLargeError);
    expect(a.pendingBytes).toBe(60_000); // the offending lane was reset
  });

  it('reassembles an honest 4 MiB piece beside a chunked activation within the default budget', () => {
    const a = new FrameAssembler();
    const piece = { ...SAMPLE_FRAMES.PIECE, data: new Uint8Array(4 * 1024 * 1024).fill(7) };
    const act = { ...SAMPLE_FRAMES.ACTIVATION, tensor: { dtype: 'fp32' as const, shape: [1, 300_000], data: new Uint8Array(1_200_000) } };
    const bulk = splitFrame(encodeFrame(piece), 'bulk');
    const ring = splitFrame(encodeFrame(act), 'ring');
    const got = [...bulk.slice(0, 3), ...ring, ...bulk.slice(3)].map((m) => a.push(m)).filter((f) => f !== undefined);
    expect(got.map((f) => f.type)).toEqual(['ACTIVATION', 'PIECE']);
    expect(a.lastFrameBytes).toBe(encodeFrame(piece).byteLength - 16);
  });
});

describe('piece counts and indexes on the wire', () => {
  it.each([
    { what: 'pieceCount at the cap', pieceCount: MAX_BITFIELD_PIECES, ok: true },
    { what: 'pieceCount one over the cap', pieceCount: MAX_BITFIELD_PIECES + 1, ok: false },
    { what: 'millions of pieces', pieceCount: 4_000_000, ok: false },
    { what: 'pieceCount 0', pieceCount: 0, ok: false },
    { what: 'pieceCount 2^32-1', pieceCount: 0xffffffff, ok: false },
  ])('BITFIELD with $what: ok=$ok', ({ pieceCount, ok }) => {
    const bytes = rawFrame({ type: 'BITFIELD', payload: bitfieldPayload('layer-000', pieceCount, Math.min(Math.ceil(pieceCount / 8), 9000)) });
    if (ok) expect(decodeFrame(bytes)).toMatchObject({ type: 'BITFIELD', pieceCount });
    else expect(() => decodeFrame(bytes)).toThrow(InvalidFrameError);
  });

  it.each([
    { piece: 0, ok: true },
    { piece: MAX_BITFIELD_PIECES - 1, ok: true },
    { piece: MAX_BITFIELD_PIECES, ok: false },
    { piece: 0xffffffff, ok: false },
  ])('HAVE for piece $piece: ok=$ok', ({ piece, ok }) => {
    const bytes = rawFrame({ type: 'HAVE', payload: havePayload('embed', piece) });
    if (ok) expect(decodeFrame(bytes)).toEqual({ type: 'HAVE', requestId: 0, unit: 'embed', piece });
    else expect(() => decodeFrame(bytes)).toThrow(InvalidFrameError);
  });

  it('refuses to encode a BITFIELD or HAVE past the caps', () => {
    expect(() =>
      encodeFrame({ type: 'BITFIELD', requestId: 0, unit: 'embed', pieceCount: MAX_BITFIELD_PIECES + 8, bits: new Uint8Array((MAX_BITFIELD_PIECES + 8) / 8) }),
    ).toThrow(InvalidFrameError);
    expect(() => encodeFrame({ type: 'HAVE', requestId: 0, unit: 'embed', piece: MAX_BITFIELD_PIECES })).toThrow(InvalidFrameError);
  });
});
