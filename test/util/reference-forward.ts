import { halfToFloat32 } from '../../shared/util/half-float.ts';
import { ropeInverseFrequencies } from '../../shared/graph/rope.ts';
import type { ModelManifest, UnitName } from '../../shared/model/manifest.ts';
import { findTensor, tensorArray } from '../../shared/model/tensor-view.ts';

/**
 * A plain TypeScript llama forward pass (float64 accumulation, no ONNX), written from the model
 * definition as directly as possible: the oracle the stage graphs are tested against. Slow; for
 * tiny models only. Keeps its own KV cache, so prefill and decode can be checked position by position.
 */
export class ReferenceForward {
  private readonly keys: number[][][] = []; // [layer][position] → kvDim
  private readonly values: number[][][] = [];
  private readonly invFreq: Float32Array;

  constructor(
    private readonly manifest: ModelManifest,
    private readonly units: ReadonlyMap<UnitName, Uint8Array>,
  ) {
    this.invFreq = ropeInverseFrequencies(manifest.architecture);
    for (let i = 0; i < manifest.architecture.numLayers; i++) {
      this.keys.push([]);
      this.values.push([]);
    }
  }

  private w(name: string): Float32Array {
    const t = findTensor(this.manifest, name);
    const bytes = this.units.get(t.unit);
    if (bytes === undefined) throw new Error(`reference: unit ${t.unit} missing`);
    const a = tensorArray(this.manifest, name, bytes);
    return a instanceof Float32Array ? a : halfToFloat32(a);
  }

  private has(name: string): boolean {
    return this.manifest.tensors.some((t) => t.name === name);
  }

  private linear(x: number[], name: string, bias?: string): number[] {
    const t = findTensor(this.manifest, `${name}.weight`);
    const [out, inDim] = t.shape as [number, number];
    const w = this.w(`${name}.weight`);
    const b = bias !== undefined && this.has(bias) ? this.w(bias) : undefined;
    const y = new Array<number>(out);
    for (let o = 0; o < out; o++) {
      let s = b === undefined ? 0 : (b[o] as number);
      for (let i = 0; i < inDim; i++) s += (w[o * inDim + i] as number) * (x[i] as number);
      y[o] = s;
    }
    return y;
  }

  private rmsNorm(x: number[], name: string): number[] {
    const w = this.w(name);
    const ms = x.reduce((s, v) => s + v * v, 0) / x.length;
    const r = 1 / Math.sqrt(ms + this.manifest.architecture.rmsEps);
    return x.map((v, i) => v * r * (w[i] as number));
  }

  /** Rotate-half RoPE of each head of `x` at position `pos`. */
  private rope(x: number[], heads: number, pos: number): number[] {
    const d = this.manifest.architecture.headDim;
    const half = d / 2;
    const y = [...x];
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < half; i++) {
        const angle = pos * (this.invFreq[i] as number);
        const a = x[h * d + i] as number;
        const b = x[h * d + half + i] as number;
        y[h * d + i] = a * Math.cos(angle) - b * Math.sin(angle);
        y[h * d + half + i] = b * Math.cos(angle) + a * Math.sin(angle);
      }
    }
    return y;
  }

  /** Hidden state after the embedding of `token`. */
  embed(token: number): number[] {
    const h = this.manifest.architecture.hiddenSize;
    return Array.from(this.w('embed.weight').subarray(token * h, (token + 1) * h));
  }

  /** Runs layer `i` on the hidden state at position `pos` (= this layer's cache length). */
  layer(i: number, x: number[], pos: number): number[] {
    const a = this.manifest.architecture;
    const p = `layers.${i}`;
    const xn = this.rmsNorm(x, `${p}.attn_norm.weight`);
    const q = this.rope(this.linear(xn, `${p}.q`, `${p}.q.bias`), a.numHeads, pos);
    const k = this.rope(this.linear(xn, `${p}.k`, `${p}.k.bias`), a.numKvHeads, pos);
    const v = this.linear(xn, `${p}.v`, `${p}.v.bias`);
    (this.keys[i] as number[][]).push(k);
    (this.values[i] as number[][]).push(v);
    const keys = this.keys[i] as number[][];
    const values = this.values[i] as number[][];
    const d = a.headDim;
    const rep = a.numHeads / a.numKvHeads;
    const ctx = new Array<number>(a.numHeads * d).fill(0);
    for (let h = 0; h < a.numHeads; h++) {
      const kv = Math.floor(h / rep);
      const scores = keys.map((key) => {
        let s = 0;
        for (let j = 0; j < d; j++) s += (q[h * d + j] as number) * (key[kv * d + j] as number);
        return s / Math.sqrt(d);
      });
      const max = Math.max(...scores);
      const exps = scores.map((s) => Math.exp(s - max));
      const sum = exps.reduce((s, e) => s + e, 0);
      exps.forEach((e, t) => {
        for (let j = 0; j < d; j++) ctx[h * d + j] = (ctx[h * d + j] as number) + (e / sum) * ((values[t] as number[])[kv * d + j] as number);
      });
    }
    const attnOut = this.linear(ctx, `${p}.o`);
    const h1 = x.map((v0, j) => v0 + (attnOut[j] as number));
    const hn = this.rmsNorm(h1, `${p}.ffn_norm.weight`);
    const gate = this.linear(hn, `${p}.gate`);
    const up = this.linear(hn, `${p}.up`);
    const act = gate.map((g, j) => (g / (1 + Math.exp(-g))) * (up[j] as number));
    const down = this.linear(act, `${p}.down`);
    return h1.map((v0, j) => v0 + (down[j] as number));
  }

  /** Final norm + classifier. */
  head(x: number[]): number[] {
    return this.linear(this.rmsNorm(x, 'final_norm.weight'), 'lm_head');
  }

  /** Whole model on the next token; returns its logits. */
  step(token: number): number[] {
    let x = this.embed(token);
    const pos = (this.keys[0] as number[][]).length;
    for (let i = 0; i < this.manifest.architecture.numLayers; i++) x = this.layer(i, x, pos);
    return this.head(x);
  }
}
