import { describe, expect, it } from 'vitest';
import {
  BadMagicError,
  decodeFrame,
  encodeFrame,
  FRAME_TYPES,
  FrameTooLargeError,
  FrameTruncatedError,
  InvalidFrameError,
  UnknownFrameTypeError,
  UnsupportedVersionError,
  type Frame,
  type FrameTypeName,
} from '../../../shared/wire/index.ts';
import { asSessionId } from '../../../shared/ids.ts';
import { SAMPLE_FRAMES } from './sample-frames.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('frame codec', () => {
  it.each(Object.keys(FRAME_TYPES) as FrameTypeName[])('round-trips %s', (type) => {
    const frame = SAMPLE_FRAMES[type];
    expect(decodeFrame(encodeFrame(frame))).toEqual(frame);
  });

  // Golden bytes pin the wire format: changing any of these is a protocol version bump.
  it('pins the header and payload layout (golden bytes)', () => {
    expect(hex(encodeFrame(SAMPLE_FRAMES.PING))).toBe('524d0120000000000000000100000008' + '40934a0000000000');
    expect(hex(encodeFrame(SAMPLE_FRAMES.HAVE))).toBe('524d010200000000000000000000000a' + '05656d626564' + '00000007');
    expect(hex(encodeFrame(SAMPLE_FRAMES.REQUEST))).toBe(
      '524d01030000000000000' + '02a00000016' + '096c617965722d303030' + '00000003' + '00010000' + '00100000',
    );
    expect(hex(encodeFrame(SAMPLE_FRAMES.ACTIVATION))).toBe(
      '524d01100000000000000000000000' +
        '26' +
        '03732d31' +
        '00000005' +
        '00000002' +
        '01' +
        '03' +
        '00000001' +
        '00000002' +
        '00000003' +
        '000102030405060708090a0b',
    );
    expect(hex(encodeFrame(SAMPLE_FRAMES.SESSION_END))).toBe('524d0112000000000000000000000005' + '03732d31' + '01');
    expect(hex(encodeFrame(SAMPLE_FRAMES.CREDIT))).toBe('524d0122000000000000000000000004' + '00010000');
  });

  it('rejects a bad magic, version, type, flags and reserved bytes with their own errors', () => {
    const good = encodeFrame(SAMPLE_FRAMES.PING);
    const patched = (at: number, v: number): Uint8Array => {
      const b = good.slice();
      b[at] = v;
      return b;
    };
    expect(() => decodeFrame(patched(0, 0x00))).toThrow(BadMagicError);
    expect(() => decodeFrame(patched(2, 2))).toThrow(UnsupportedVersionError);
    expect(() => decodeFrame(patched(3, 99))).toThrow(UnknownFrameTypeError);
    expect(() => decodeFrame(patched(4, 0x80))).toThrow(InvalidFrameError);
    expect(() => decodeFrame(patched(6, 1))).toThrow(InvalidFrameError);
    expect(() => decodeFrame(patched(4, 0x02))).toThrow(InvalidFrameError); // chunk flag on a whole frame
  });

  it('rejects truncation and trailing bytes', () => {
    const good = encodeFrame(SAMPLE_FRAMES.TOKEN);
    expect(() => decodeFrame(good.subarray(0, 10))).toThrow(FrameTruncatedError);
    expect(() => decodeFrame(good.subarray(0, good.byteLength - 1))).toThrow(FrameTruncatedError);
    const longer = new Uint8Array(good.byteLength + 1);
    longer.set(good);
    expect(() => decodeFrame(longer)).toThrow(InvalidFrameError);
  });

  it('rejects a payload that lies about its inner lengths', () => {
    // HAVE whose unit-name length byte claims more bytes than the payload holds.
    const have = encodeFrame(SAMPLE_FRAMES.HAVE).slice();
    have[16] = 200;
    expect(() => decodeFrame(have)).toThrow(FrameTruncatedError);
  });

  it('checks shape × dtype against the tensor bytes, both ways', () => {
    const bad: Frame = { ...SAMPLE_FRAMES.ACTIVATION, tensor: { dtype: 'fp32', shape: [1, 2, 3], data: new Uint8Array(12) } };
    expect(() => encodeFrame(bad)).toThrow(InvalidFrameError);
    const bytes = encodeFrame(SAMPLE_FRAMES.ACTIVATION).slice();
    bytes[28] = 0; // dtype fp16 → fp32: 6 elements now need 24 bytes
    expect(() => decodeFrame(bytes)).toThrow(InvalidFrameError);
    bytes[28] = 7; // unknown dtype
    expect(() => decodeFrame(bytes)).toThrow(InvalidFrameError);
    expect(() => encodeFrame({ ...SAMPLE_FRAMES.ACTIVATION, tensor: { dtype: 'fp32', shape: [], data: new Uint8Array(0) } })).toThrow(InvalidFrameError);
    expect(() => encodeFrame({ ...SAMPLE_FRAMES.ACTIVATION, tensor: { dtype: 'fp32', shape: [0x10000, 0x10000, 0x10000], data: new Uint8Array(4) } })).toThrow(
      InvalidFrameError,
    );
  });

  it('rejects out-of-range values on encode', () => {
    expect(() => encodeFrame({ ...SAMPLE_FRAMES.HAVE, piece: -1 })).toThrow(InvalidFrameError);
    expect(() => encodeFrame({ ...SAMPLE_FRAMES.HAVE, piece: 2 ** 32 })).toThrow(InvalidFrameError);
    expect(() => encodeFrame({ ...SAMPLE_FRAMES.HAVE, unit: '' })).toThrow(InvalidFrameError);
    expect(() => encodeFrame({ ...SAMPLE_FRAMES.HAVE, requestId: 1.5 })).toThrow(InvalidFrameError);
    expect(() => encodeFrame({ ...SAMPLE_FRAMES.HAVE, unit: 'x'.repeat(300) })).toThrow(FrameTooLargeError);
    expect(() => encodeFrame({ ...SAMPLE_FRAMES.TOKEN, logprob: Number.NaN })).toThrow(InvalidFrameError);
    expect(() => encodeFrame({ ...SAMPLE_FRAMES.TOKEN, session: asSessionId('') })).toThrow(InvalidFrameError);
    expect(() => encodeFrame({ ...SAMPLE_FRAMES.BITFIELD, bits: new Uint8Array([0xff, 0xff]) })).toThrow(InvalidFrameError);
    expect(() => encodeFrame({ ...SAMPLE_FRAMES.PIECE, data: new Uint8Array(100) }, 50)).toThrow(FrameTooLargeError);
  });

  it('refuses a header announcing more than the frame limit', () => {
    const bytes = encodeFrame(SAMPLE_FRAMES.PIECE);
    expect(() => decodeFrame(bytes, 8)).toThrow(FrameTooLargeError);
  });
});
