// Deterministic test data for the piece layer: random-looking bytes (Chromium compresses zeros)
// from a seed, and small manifests built from them.

/** mulberry32: a tiny seeded PRNG, enough for test data and scheduler rngs. */
export function seededRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function seededBytes(seed: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  const rng = seededRng(seed);
  for (let i = 0; i < size; i += 4) {
    const v = Math.floor(rng() * 4294967296);
    out[i] = v & 0xff;
    if (i + 1 < size) out[i + 1] = (v >>> 8) & 0xff;
    if (i + 2 < size) out[i + 2] = (v >>> 16) & 0xff;
    if (i + 3 < size) out[i + 3] = (v >>> 24) & 0xff;
  }
  return out;
}
