/** Little-endian bytes of a typed array, a view without a copy (every platform ringmesh runs on is little-endian). */
export function bytesOf(a: Float32Array | Int32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
