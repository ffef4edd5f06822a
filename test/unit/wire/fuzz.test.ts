// Untrusted bytes must only ever produce a frame or a WireError — never a RangeError, TypeError…
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, FrameAssembler, splitFrame, WireError, type FrameTypeName } from '../../../shared/wire/index.ts';
import { SAMPLE_FRAMES } from './sample-frames.ts';

const SEED = 20261123;
const valid = Object.values(SAMPLE_FRAMES).map((f) => encodeFrame(f));

function onlyWireErrors(run: () => unknown): boolean {
  try {
    run();
    return true;
  } catch (err) {
    if (err instanceof WireError) return true;
    throw err;
  }
}

describe('codec fuzz', () => {
  it('random bytes yield frames or typed errors', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (b) => onlyWireErrors(() => decodeFrame(b))),
      { seed: SEED, numRuns: 5000 },
    );
  });

  it('random bytes behind a valid header yield frames or typed errors', () => {
    const headers = valid.map((v) => v.subarray(0, 16));
    fc.assert(
      fc.property(fc.constantFrom(...headers), fc.uint8Array({ maxLength: 128 }), (h, body) => {
        const b = new Uint8Array(16 + body.byteLength);
        b.set(h);
        b.set(body, 16);
        new DataView(b.buffer).setUint32(12, body.byteLength); // make the length agree so payload decoders run
        return onlyWireErrors(() => decodeFrame(b));
      }),
      { seed: SEED, numRuns: 5000 },
    );
  });

  it('truncated and bit-flipped valid frames yield frames or typed errors', () => {
    fc.assert(
      fc.property(fc.constantFrom(...valid), fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), (v, cut, at, x) => {
        const truncated = v.subarray(0, cut % (v.byteLength + 1));
        const flipped = v.slice();
        flipped[at % v.byteLength] = x;
        return onlyWireErrors(() => decodeFrame(truncated)) && onlyWireErrors(() => decodeFrame(flipped));
      }),
      { seed: SEED, numRuns: 5000 },
    );
  });

  it('every truncation of every frame type is rejected as a WireError', () => {
    for (const [type, frame] of Object.entries(SAMPLE_FRAMES)) {
      const v = encodeFrame(frame);
      for (let n = 0; n < v.byteLength; n++) {
        expect(() => decodeFrame(v.subarray(0, n)), `${type as FrameTypeName} cut at ${n}`).toThrow(WireError);
      }
    }
  });

  it('random message sequences into the assembler yield frames or typed errors', () => {
    const piece = encodeFrame({ ...SAMPLE_FRAMES.PIECE, data: new Uint8Array(300).fill(7) });
    const chunks = [...splitFrame(piece, 'bulk', 64), ...splitFrame(piece, 'ring', 100)];
    const message = fc.oneof(fc.constantFrom(...chunks, ...valid), fc.uint8Array({ maxLength: 80 }));
    fc.assert(
      fc.property(fc.array(message, { maxLength: 30 }), (msgs) => {
        const a = new FrameAssembler({ maxFrameBytes: 1024 });
        return msgs.every((m) => onlyWireErrors(() => a.push(m)));
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });
});
