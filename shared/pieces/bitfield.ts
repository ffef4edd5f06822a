/** Bit i (most significant bit first) set for each held piece index of a unit, as on the wire. */
export function encodeBits(pieceCount: number, held: (index: number) => boolean): Uint8Array {
  const bits = new Uint8Array(Math.ceil(pieceCount / 8));
  for (let i = 0; i < pieceCount; i++) if (held(i)) bits[i >> 3] = (bits[i >> 3] ?? 0) | (0x80 >> (i & 7));
  return bits;
}

/** The piece indexes a BITFIELD's bits mark as held. */
export function decodeBits(pieceCount: number, bits: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < pieceCount; i++) if (((bits[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0) out.push(i);
  return out;
}
