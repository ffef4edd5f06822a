import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LENGTH_PREFIX_BYTES, LengthPrefixDecoder, MessageTooLargeError, lengthPrefix } from '../../../node-peer/transport/length-prefix.ts';

const encode = (messages: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(messages.reduce((n, m) => n + LENGTH_PREFIX_BYTES + m.byteLength, 0));
  let at = 0;
  for (const m of messages) {
    out.set(lengthPrefix(m.byteLength), at);
    out.set(m, at + LENGTH_PREFIX_BYTES);
    at += LENGTH_PREFIX_BYTES + m.byteLength;
  }
  return out;
};

describe('LengthPrefixDecoder', () => {
  it('gives back every message, in order, however the stream is sliced', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 50 }),
        (messages, cuts) => {
          const stream = encode(messages);
          const decoder = new LengthPrefixDecoder(1024);
          const got: number[][] = [];
          for (let at = 0, i = 0; at < stream.byteLength; i++) {
            const n = cuts[i % cuts.length] as number;
            for (const m of decoder.push(stream.subarray(at, at + n))) got.push([...m]);
            at += n;
          }
          expect(got).toEqual(messages.map((m) => [...m]));
          expect(decoder.pendingBytes).toBe(0);
        },
      ),
    );
  });

  it('holds a partial message until its last byte arrives', () => {
    const decoder = new LengthPrefixDecoder(1024);
    const stream = encode([new Uint8Array([9, 8, 7])]);
    expect(decoder.push(stream.subarray(0, 5))).toEqual([]);
    expect(decoder.pendingBytes).toBe(5);
    expect(decoder.push(stream.subarray(5)).map((m) => [...m])).toEqual([[9, 8, 7]]);
  });

  it('refuses a length over the limit as soon as the prefix is in, before any of its bytes', () => {
    const decoder = new LengthPrefixDecoder(1024);
    expect(() => decoder.push(lengthPrefix(1025))).toThrow(MessageTooLargeError);
    expect(new LengthPrefixDecoder(1024).push(encode([new Uint8Array(1024)]))[0]?.byteLength).toBe(1024);
  });
});
