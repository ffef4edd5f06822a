/**
 * Reorders the rows of a q or k projection [heads*headDim, inDim] from interleaved RoPE pairs
 * (llama2.c / Meta: dims (0,1), (2,3) … rotate together) to Hugging Face's rotate-half layout
 * (dims j and j + headDim/2 rotate together): per head, view [headDim/2, 2, in] → transpose → [2, headDim/2, in].
 */
export function interleavedToRotateHalf(w: Float32Array, heads: number, headDim: number, inDim: number): Float32Array {
  return permuteRows(w, heads, headDim, inDim, (j, t) => 2 * j + t);
}

/** The inverse: rotate-half rows back to interleaved pairs (writing test checkpoints). */
export function rotateHalfToInterleaved(w: Float32Array, heads: number, headDim: number, inDim: number): Float32Array {
  const half = headDim / 2;
  const out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < half; j++) {
      for (let t = 0; t < 2; t++) {
        const src = h * headDim + t * half + j;
        const dst = h * headDim + 2 * j + t;
        out.set(w.subarray(src * inDim, (src + 1) * inDim), dst * inDim);
      }
    }
  }
  return out;
}

function permuteRows(w: Float32Array, heads: number, headDim: number, inDim: number, srcOf: (j: number, t: number) => number): Float32Array {
  const half = headDim / 2;
  const out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++) {
    for (let t = 0; t < 2; t++) {
      for (let j = 0; j < half; j++) {
        const dst = h * headDim + t * half + j;
        const src = h * headDim + srcOf(j, t);
        out.set(w.subarray(src * inDim, (src + 1) * inDim), dst * inDim);
      }
    }
  }
  return out;
}

/** interleavedToRotateHalf on rows of raw bytes (GGUF Q8_0/Q4_0 rows: blocks move with their row). */
export function interleavedToRotateHalfRows(rows: Uint8Array, heads: number, headDim: number, rowBytes: number): Uint8Array {
  const half = headDim / 2;
  const out = new Uint8Array(rows.length);
  for (let h = 0; h < heads; h++) {
    for (let t = 0; t < 2; t++) {
      for (let j = 0; j < half; j++) {
        const src = h * headDim + 2 * j + t;
        const dst = h * headDim + t * half + j;
        out.set(rows.subarray(src * rowBytes, (src + 1) * rowBytes), dst * rowBytes);
      }
    }
  }
  return out;
}
