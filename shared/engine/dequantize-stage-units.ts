import { fromHalfBits } from '../util/half-float.ts';
import type { ModelManifest, TensorEntry, UnitName } from '../model/manifest.ts';
import { QUANT_BLOCK, isQuantDType, quantLayout, type QuantDType } from '../model/quant-blocks.ts';

/** Where tensors start inside a rewritten unit: the alignment units on disk use. */
const ALIGN = 64;

/** Tensors kept quantized: the embedding is read row by row (a Gather), never multiplied whole. */
const KEEP_QUANTIZED = new Set(['embed.weight']);

/**
 * A stage's units with every q8/q4 linear weight widened to fp32 once, and a manifest whose
 * entries point at the widened bytes, so that buildStageGraph emits plain Gemm for them.
 *
 * Why: onnxruntime-web's WASM build has no n-bit GEMM kernel, so MatMulNBits there dequantizes
 * the whole matrix on every run (10–80× slower than fp32 at one row). Widening at load makes
 * the stage run at fp32 speed for 4 (vs q8: ~3.8, vs q4: ~7) times the weight memory.
 * Units whose tensors are all left as they are come back as the same arrays (no copy).
 */
export function dequantizeStageUnits(
  manifest: ModelManifest,
  units: ReadonlyMap<UnitName, Uint8Array>,
): { manifest: ModelManifest; units: Map<UnitName, Uint8Array> } {
  const replaced = new Map<string, TensorEntry>();
  const outUnits = new Map<UnitName, Uint8Array>();
  for (const [unit, bytes] of units) {
    const tensors = manifest.tensors.filter((t) => t.unit === unit).sort((x, y) => x.offset - y.offset);
    const widen = (t: TensorEntry): boolean => isQuantDType(t.dtype) && t.shape.length === 2 && !KEEP_QUANTIZED.has(t.name);
    if (!tensors.some(widen)) {
      outUnits.set(unit, bytes);
      continue;
    }
    const placed: { t: TensorEntry; offset: number; bytes: number }[] = [];
    let size = 0;
    for (const t of tensors) {
      const n = widen(t) ? (t.shape[0] as number) * (t.shape[1] as number) * 4 : t.bytes;
      const offset = Math.ceil(size / ALIGN) * ALIGN;
      placed.push({ t, offset, bytes: n });
      size = offset + n;
    }
    const out = new Uint8Array(size);
    for (const p of placed) {
      const src = bytes.subarray(p.t.offset, p.t.offset + p.t.bytes);
      if (widen(p.t)) {
        const rows = p.t.shape[0] as number;
        const cols = p.t.shape[1] as number;
        widenInto(p.t.dtype as QuantDType, src, rows, cols, new Float32Array(out.buffer, p.offset, rows * cols));
        replaced.set(p.t.name, { ...p.t, dtype: 'fp32', offset: p.offset, bytes: p.bytes });
      } else {
        out.set(src, p.offset);
        replaced.set(p.t.name, { ...p.t, offset: p.offset });
      }
    }
    outUnits.set(unit, out);
  }
  const tensors = manifest.tensors.map((t) => replaced.get(t.name) ?? t);
  return { manifest: { ...manifest, tensors }, units: outUnits };
}

/** q8/q4 bytes (quant-blocks.ts layout) → fp32 rows × cols, one scale per block of 32. */
function widenInto(dtype: QuantDType, src: Uint8Array, rows: number, cols: number, out: Float32Array): void {
  const { blocksPerRow, blockBytes, scalesOffset } = quantLayout(dtype, rows, cols);
  const scales = new DataView(src.buffer, src.byteOffset + scalesOffset, rows * blocksPerRow * 2);
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < blocksPerRow; b++) {
      const k = r * blocksPerRow + b;
      const d = fromHalfBits(scales.getUint16(k * 2, true));
      const at = k * blockBytes;
      const first = b * QUANT_BLOCK;
      const n = Math.min(QUANT_BLOCK, cols - first);
      const o = r * cols + first;
      if (dtype === 'q8') {
        for (let i = 0; i < n; i++) out[o + i] = ((src[at + i] as number) - 128) * d;
      } else {
        for (let i = 0; i < n; i++) out[o + i] = ((((src[at + (i >> 1)] as number) >> ((i & 1) * 4)) & 15) - 8) * d;
      }
    }
  }
}
