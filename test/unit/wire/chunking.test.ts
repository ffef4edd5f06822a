import { describe, expect, it } from 'vitest';
import {
  ChunkSequenceError,
  encodeFrame,
  FrameAssembler,
  FrameTooLargeError,
  MAX_MESSAGE_BYTES,
  splitFrame,
  type Frame,
  type PieceFrame,
} from '../../../shared/wire/index.ts';
import { SAMPLE_FRAMES } from './sample-frames.ts';

/** Deterministic pseudo-random bytes (xorshift32), so failures reproduce. */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const bigPiece: PieceFrame = { type: 'PIECE', requestId: 77, unit: 'layer-001', piece: 2, offset: 0, data: bytes(200_003, 5) };

/** Frames with their bytes as hex: vitest's deep equality is slow on large typed arrays. */
function brief(f: Frame): unknown {
  if (f.type === 'PIECE') return { ...f, data: Buffer.from(f.data).toString('hex') };
  if (f.type === 'ACTIVATION') return { ...f, tensor: { ...f.tensor, data: Buffer.from(f.tensor.data).toString('hex') } };
  return f;
}

function feed(a: FrameAssembler, msgs: Uint8Array[]): unknown[] {
  return msgs.flatMap((m) => a.push(m) ?? []).map(brief);
}

describe('chunking', () => {
  it('splits a big frame into ≤ 64 KiB messages and reassembles it exactly', () => {
    const msgs = splitFrame(encodeFrame(bigPiece), 'bulk');
    expect(msgs.length).toBe(Math.ceil((encodeFrame(bigPiece).byteLength - 16) / (MAX_MESSAGE_BYTES - 16)));
    expect(msgs.every((m) => m.byteLength <= MAX_MESSAGE_BYTES)).toBe(true);
    expect(feed(new FrameAssembler(), msgs)).toEqual([bigPiece].map(brief));
  });

  it('reassembles a frame over the preallocation bound (9 MiB) from its chunks as well', () => {
    const huge: PieceFrame = { ...bigPiece, data: bytes(9 * 1024 * 1024 + 7, 11) };
    const msgs = splitFrame(encodeFrame(huge), 'bulk', 1024 * 1024);
    const a = new FrameAssembler();
    expect(feed(a, msgs)).toEqual([huge].map(brief));
    expect(a.pendingBytes).toBe(0);
  });

  it('sends a small frame as one message', () => {
    const msgs = splitFrame(encodeFrame(SAMPLE_FRAMES.TOKEN), 'ring');
    expect(msgs).toHaveLength(1);
    expect(feed(new FrameAssembler(), msgs)).toEqual([SAMPLE_FRAMES.TOKEN].map(brief));
  });

  it('lets ring frames, even chunked ones, interleave between chunks of a bulk frame', () => {
    const bulk = splitFrame(encodeFrame(bigPiece), 'bulk');
    const act: Frame = { ...SAMPLE_FRAMES.ACTIVATION, tensor: { dtype: 'fp32', shape: [1, 40_000], data: bytes(160_000, 9) } };
    const ring = splitFrame(encodeFrame(act), 'ring');
    const token = splitFrame(encodeFrame(SAMPLE_FRAMES.TOKEN), 'ring');
    expect(ring.length).toBeGreaterThan(2);
    const mixed = [bulk[0]!, ring[0]!, bulk[1]!, ...ring.slice(1), ...token, ...bulk.slice(2)];
    const a = new FrameAssembler();
    expect(feed(a, mixed)).toEqual([act, SAMPLE_FRAMES.TOKEN, bigPiece].map(brief));
    expect(a.pendingBytes).toBe(0);
  });

  it('rejects a second frame on a lane before the first finished', () => {
    const a = new FrameAssembler();
    const first = splitFrame(encodeFrame(bigPiece), 'bulk');
    a.push(first[0]!);
    expect(() => a.push(first[0]!)).toThrow(ChunkSequenceError);
    // the lane was reset: a fresh frame goes through
    expect(feed(a, first)).toEqual([bigPiece].map(brief));
  });

  it('rejects an orphan continuation and a continuation of another frame', () => {
    const msgs = splitFrame(encodeFrame(bigPiece), 'bulk');
    expect(() => new FrameAssembler().push(msgs[1]!)).toThrow(ChunkSequenceError);
    const other = splitFrame(encodeFrame({ ...bigPiece, requestId: 78 }), 'bulk');
    const a = new FrameAssembler();
    a.push(msgs[0]!);
    expect(() => a.push(other[1]!)).toThrow(ChunkSequenceError);
  });

  it('bounds reassembly memory by the frame limit', () => {
    const a = new FrameAssembler({ maxFrameBytes: 100_000 });
    const msgs = splitFrame(encodeFrame(bigPiece), 'bulk');
    expect(() => a.push(msgs[0]!)).toThrow(FrameTooLargeError);
    expect(a.pendingBytes).toBe(0);
  });
});
