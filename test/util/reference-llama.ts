import { halfToFloat32 } from '../../shared/util/half-float.ts';
import type { ModelManifest } from '../../shared/model/manifest.ts';
import { tensorArray } from '../../shared/model/tensor-view.ts';

/**
 * A plain-TypeScript Llama forward pass over a model package (fp64 math, rotate-half RoPE, GQA),
 * independent of the ONNX graph builder: tests use it to check that converted weights compute what
 * llama2.c's run.c computes. Slow; for tiny models only.
 */
export class ReferenceLlama {
  private readonly w = new Map<string, Float32Array>();
  private readonly kCache: Float32Array[][] = [];
  private readonly vCache: Float32Array[][] = [];

  constructor(
    private readonly manifest: ModelManifest,
    units: ReadonlyMap<string, Uint8Array>,
  ) {
    for (const t of manifest.tensors) {
      const arr = tensorArray(manifest, t.name, units.get(t.unit) as Uint8Array);
      this.w.set(t.name, arr instanceof Float32Array ? arr : halfToFloat32(arr));
    }
    for (let l = 0; l < manifest.architecture.numLayers; l++) {
      this.kCache.push([]);
      this.vCache.push([]);
    }
  }

  private t(name: string): Float32Array {
    return this.w.get(name) as Float32Array;
  }

  /** Logits for `token` at the next position (appends to the KV cache). */
  step(token: number): Float64Array {
    const a = this.manifest.architecture;
    const { hiddenSize: d, headDim: hd, numHeads, numKvHeads } = a;
    const pos = this.kCache[0]?.length ?? 0;
    const x = Float64Array.from(this.t('embed.weight').subarray(token * d, (token + 1) * d));
    for (let l = 0; l < a.numLayers; l++) {
      const p = `layers.${l}.`;
      const h = rmsNorm(x, this.t(`${p}attn_norm.weight`), a.rmsEps);
      const q = matVec(this.t(`${p}q.weight`), h, this.w.get(`${p}q.bias`));
      const k = matVec(this.t(`${p}k.weight`), h, this.w.get(`${p}k.bias`));
      const v = matVec(this.t(`${p}v.weight`), h, this.w.get(`${p}v.bias`));
      rope(q, numHeads, hd, pos, a.ropeTheta);
      rope(k, numKvHeads, hd, pos, a.ropeTheta);
      (this.kCache[l] as Float32Array[]).push(Float32Array.from(k));
      (this.vCache[l] as Float32Array[]).push(Float32Array.from(v));
      const att = new Float64Array(numHeads * hd);
      for (let hh = 0; hh < numHeads; hh++) {
        const kvh = Math.floor(hh / (numHeads / numKvHeads));
        const scores = (this.kCache[l] as Float32Array[]).map((kc) => {
          let s = 0;
          for (let i = 0; i < hd; i++) s += (q[hh * hd + i] as number) * (kc[kvh * hd + i] as number);
          return s / Math.sqrt(hd);
        });
        const max = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - max));
        const sum = e.reduce((s1, s2) => s1 + s2, 0);
        e.forEach((wt, t) => {
          const vc = (this.vCache[l] as Float32Array[])[t] as Float32Array;
          for (let i = 0; i < hd; i++) att[hh * hd + i] = (att[hh * hd + i] as number) + (wt / sum) * (vc[kvh * hd + i] as number);
        });
      }
      add(x, matVec(this.t(`${p}o.weight`), att));
      const h2 = rmsNorm(x, this.t(`${p}ffn_norm.weight`), a.rmsEps);
      const g = matVec(this.t(`${p}gate.weight`), h2);
      const u = matVec(this.t(`${p}up.weight`), h2);
      for (let i = 0; i < g.length; i++) g[i] = ((g[i] as number) / (1 + Math.exp(-(g[i] as number)))) * (u[i] as number);
      add(x, matVec(this.t(`${p}down.weight`), g));
    }
    return matVec(this.t('lm_head.weight'), rmsNorm(x, this.t('final_norm.weight'), a.rmsEps));
  }

  /**
   * Teacher forcing along `promptIds` + `generatedIds`: for each generated token, how far its logit
   * lies below the best logit at that position (0 where it is the argmax). Measures how close a
   * lower-precision copy of a model stays to the reference decisions.
   */
  logitGaps(promptIds: readonly number[], generatedIds: readonly number[]): number[] {
    const seq = [...promptIds, ...generatedIds];
    const gaps: number[] = [];
    for (let pos = 0; pos + 1 < seq.length; pos++) {
      const logits = this.step(seq[pos] as number);
      if (pos + 1 < promptIds.length) continue;
      let max = -Infinity;
      for (const l of logits) max = Math.max(max, l);
      gaps.push(max - (logits[seq[pos + 1] as number] as number));
    }
    return gaps;
  }

  /** Greedy decoding as run.c does it: positions in all = `steps`; stops after choosing a stop id. */
  greedy(promptIds: readonly number[], steps: number, stopIds: readonly number[]): number[] {
    const out: number[] = [];
    let token = promptIds[0] as number;
    for (let pos = 0; pos < steps; pos++) {
      const logits = this.step(token);
      if (pos + 1 < promptIds.length) {
        token = promptIds[pos + 1] as number;
        continue;
      }
      let best = 0;
      for (let i = 1; i < logits.length; i++) if ((logits[i] as number) > (logits[best] as number)) best = i;
      out.push(best);
      if (stopIds.includes(best)) break;
      token = best;
    }
    return out;
  }
}

function rmsNorm(x: Float64Array, w: Float32Array, eps: number): Float64Array {
  let ss = 0;
  for (const v of x) ss += v * v;
  const s = 1 / Math.sqrt(ss / x.length + eps);
  return x.map((v, i) => v * s * (w[i] as number));
}

function matVec(w: Float32Array, x: Float64Array, bias?: Float32Array): Float64Array {
  const rows = w.length / x.length;
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = bias === undefined ? 0 : (bias[r] as number);
    const off = r * x.length;
    for (let c = 0; c < x.length; c++) s += (w[off + c] as number) * (x[c] as number);
    out[r] = s;
  }
  return out;
}

/** Rotate-half RoPE: dims j and j + headDim/2 of each head rotate together. */
function rope(v: Float64Array, heads: number, hd: number, pos: number, theta: number): void {
  const half = hd / 2;
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < half; j++) {
      const angle = pos * theta ** (-(2 * j) / hd);
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      const a = v[h * hd + j] as number;
      const b = v[h * hd + j + half] as number;
      v[h * hd + j] = a * c - b * s;
      v[h * hd + j + half] = a * s + b * c;
    }
  }
}

function add(x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < x.length; i++) x[i] = (x[i] as number) + (y[i] as number);
}
