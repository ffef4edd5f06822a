// ACTIVATION frames sent as fp16: half the bytes on the wire; the receiving stage computes in fp32
// again. The bit conversions (round to nearest even) are the model codec's; this adds the
// little-endian byte layout the wire uses, whatever the host's byte order.
import { fromHalfBits, toHalfBits } from '../util/half-float.ts';

export { fromHalfBits, toHalfBits };

/** fp32 values → little-endian fp16 bytes. */
export function encodeHalf(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setUint16(i * 2, toHalfBits(values[i] as number), true);
  return out;
}

/** Little-endian fp16 bytes → fp32 values. */
export function decodeHalf(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 2);
  for (let i = 0; i < out.length; i++) out[i] = fromHalfBits(view.getUint16(i * 2, true));
  return out;
}
