import { writeFile } from 'node:fs/promises';
import { float32ToHalf, toHalfBits } from '../../shared/util/half-float.ts';
import type { LlamaArchitecture } from '../../shared/model/manifest.ts';
import { rotateHalfToInterleaved } from '../../node-peer/convert/rope-permute.ts';

/** A GGUF metadata value with its GGUF type (gguf.md's numbering). */
export type GgufMeta =
  | { t: 'u32' | 'i32' | 'f32' | 'u64'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'str'; v: string }
  | { t: 'strs'; v: readonly string[] }
  | { t: 'f32s' | 'i32s'; v: readonly number[] };

export type GgufTensorType = 'F32' | 'F16' | 'Q8_0' | 'Q4_0' | 'Q6_K';
const TYPE_IDS: Record<GgufTensorType, number> = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8, Q6_K: 14 };
const VALUE_TYPES = { u32: 4, i32: 5, f32: 6, bool: 7, str: 8, arr: 9, u64: 10 } as const;
const ALIGNMENT = 32;

export interface GgufTensorIn {
  readonly name: string;
  readonly type: GgufTensorType;
  /** Our order, [rows, cols]; written reversed (ne[0] = cols), as ggml does. */
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** GGUF v3 bytes: header, metadata, tensor infos, padding to 32, tensor data (each 32-aligned). */
export function encodeGguf(meta: readonly [string, GgufMeta][], tensors: readonly GgufTensorIn[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const w = new Writer();
  w.bytes(new TextEncoder().encode('GGUF'));
  w.u32(3);
  w.u64(tensors.length);
  w.u64(meta.length);
  for (const [key, value] of meta) {
    w.str(key);
    writeValue(w, value);
  }
  const blobs = tensors.map((t) => encodeTensor(t));
  let offset = 0;
  tensors.forEach((t, i) => {
    w.str(t.name);
    w.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) w.u64(d);
    w.u32(TYPE_IDS[t.type]);
    w.u64(offset);
    offset = Math.ceil((offset + (blobs[i] as Uint8Array).length) / ALIGNMENT) * ALIGNMENT;
  });
  const head = w.done();
  parts.push(head, new Uint8Array(Math.ceil(head.length / ALIGNMENT) * ALIGNMENT - head.length));
  for (const b of blobs) parts.push(b, new Uint8Array(Math.ceil(b.length / ALIGNMENT) * ALIGNMENT - b.length));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function writeValue(w: Writer, m: GgufMeta): void {
  const scalar = (t: 'u32' | 'i32' | 'f32' | 'u64', v: number): void => (t === 'u32' ? w.u32(v) : t === 'i32' ? w.i32(v) : t === 'f32' ? w.f32(v) : w.u64(v));
  if (m.t === 'strs' || m.t === 'f32s' || m.t === 'i32s') {
    w.u32(VALUE_TYPES.arr);
    w.u32(m.t === 'strs' ? VALUE_TYPES.str : m.t === 'f32s' ? VALUE_TYPES.f32 : VALUE_TYPES.i32);
    w.u64(m.v.length);
    for (const x of m.v) {
      if (m.t === 'strs') w.str(x as string);
      else scalar(m.t === 'f32s' ? 'f32' : 'i32', x as number);
    }
    return;
  }
  w.u32(VALUE_TYPES[m.t]);
  if (m.t === 'bool') w.bytes(Uint8Array.of(m.v ? 1 : 0));
  else if (m.t === 'str') w.str(m.v);
  else scalar(m.t as 'u32' | 'i32' | 'f32' | 'u64', m.v as number);
}

function encodeTensor(t: GgufTensorIn): Uint8Array {
  if (t.type === 'F32') return new Uint8Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength));
  if (t.type === 'F16') return new Uint8Array(float32ToHalf(t.data).buffer);
  if (t.type === 'Q6_K') return new Uint8Array((t.data.length / 256) * 210); // only its size matters: no reader decodes it
  const out = new Uint8Array((t.data.length / 32) * (t.type === 'Q8_0' ? 34 : 18));
  for (let b = 0; b < t.data.length / 32; b++) {
    const x = t.data.subarray(b * 32, b * 32 + 32);
    if (t.type === 'Q8_0') quantizeQ8_0(x, out, b * 34);
    else quantizeQ4_0(x, out, b * 18);
  }
  return out;
}

const f = Math.fround;
/** C's roundf: halves away from zero. */
const roundf = (x: number): number => Math.sign(x) * Math.floor(Math.abs(x) + 0.5);

/** ggml's quantize_row_q8_0_ref, in float32 arithmetic: d = amax/127, q = roundf(x·(1/d)). */
export function quantizeQ8_0(x: Float32Array, out: Uint8Array, at: number): void {
  let amax = 0;
  for (const v of x) amax = Math.max(amax, Math.abs(v));
  const d = f(amax / 127);
  const id = d !== 0 ? f(1 / d) : 0;
  new DataView(out.buffer, out.byteOffset).setUint16(at, toHalfBits(d), true);
  for (let j = 0; j < 32; j++) out[at + 2 + j] = roundf(f((x[j] as number) * id)) & 0xff;
}

/** ggml's quantize_row_q4_0_ref: d = (signed max-magnitude value)/-8, n = min(15, (int8)(x·(1/d) + 8.5)); byte j = x[j] | x[j+16] << 4. */
export function quantizeQ4_0(x: Float32Array, out: Uint8Array, at: number): void {
  let amax = 0;
  let max = 0;
  for (const v of x) {
    if (amax < Math.abs(v)) {
      amax = Math.abs(v);
      max = v;
    }
  }
  const d = f(max / -8);
  const id = d !== 0 ? f(1 / d) : 0;
  new DataView(out.buffer, out.byteOffset).setUint16(at, toHalfBits(d), true);
  const code = (v: number): number => Math.min(15, Math.trunc(f(f(v * id) + 8.5)));
  for (let j = 0; j < 16; j++) out[at + 2 + j] = code(x[j] as number) | (code(x[j + 16] as number) << 4);
}

/** Which GGUF type each tensor gets: norms F32 as llama.cpp keeps them; the rest as given. */
export interface LlamaGgufTypes {
  readonly linear: GgufTensorType;
  readonly embed?: GgufTensorType;
  readonly output?: GgufTensorType;
}

/**
 * Writes a llama GGUF like llama.cpp's convert_hf_to_gguf.py: manifest-named fp32 weights in
 * Hugging Face (rotate-half) order become GGUF names with q/k rows permuted to interleaved pairs;
 * no output.weight when the head is tied. `vocab` is SentencePiece-style (spaces as "▁").
 */
export async function writeLlamaGguf(
  path: string,
  arch: LlamaArchitecture,
  weights: ReadonlyMap<string, Float32Array>,
  vocab: { tokens: readonly string[]; scores: readonly number[]; types: readonly number[] },
  types: LlamaGgufTypes,
  extraMeta: readonly [string, GgufMeta][] = [],
  extraTensors: readonly GgufTensorIn[] = [],
): Promise<void> {
  const get = (n: string): Float32Array => {
    const v = weights.get(n);
    if (v === undefined) throw new Error(`no weight ${n}`);
    return v;
  };
  const { hiddenSize: h, headDim: hd, numHeads, numKvHeads } = arch;
  const tensors: GgufTensorIn[] = [{ name: 'token_embd.weight', type: types.embed ?? types.linear, shape: [arch.vocabSize, h], data: get('embed.weight') }];
  const names: [string, string][] = [
    ['q', 'attn_q'],
    ['k', 'attn_k'],
    ['v', 'attn_v'],
    ['o', 'attn_output'],
    ['gate', 'ffn_gate'],
    ['up', 'ffn_up'],
    ['down', 'ffn_down'],
  ];
  for (let l = 0; l < arch.numLayers; l++) {
    tensors.push({ name: `blk.${l}.attn_norm.weight`, type: 'F32', shape: [h], data: get(`layers.${l}.attn_norm.weight`) });
    tensors.push({ name: `blk.${l}.ffn_norm.weight`, type: 'F32', shape: [h], data: get(`layers.${l}.ffn_norm.weight`) });
    for (const [ours, theirs] of names) {
      let data = get(`layers.${l}.${ours}.weight`);
      if (ours === 'q') data = rotateHalfToInterleaved(data, numHeads, hd, h);
      if (ours === 'k') data = rotateHalfToInterleaved(data, numKvHeads, hd, h);
      const cols = ours === 'down' ? arch.intermediateSize : ours === 'o' ? numHeads * hd : h;
      tensors.push({ name: `blk.${l}.${theirs}.weight`, type: types.linear, shape: [data.length / cols, cols], data });
    }
  }
  tensors.push({ name: 'output_norm.weight', type: 'F32', shape: [h], data: get('final_norm.weight') });
  if (!arch.tiedEmbeddings)
    tensors.push({ name: 'output.weight', type: types.output ?? types.linear, shape: [arch.vocabSize, h], data: get('lm_head.weight') });
  const meta: [string, GgufMeta][] = [
    ['general.architecture', { t: 'str', v: 'llama' }],
    ['general.name', { t: 'str', v: 'gguf-test' }],
    ['llama.context_length', { t: 'u32', v: arch.contextLength }],
    ['llama.embedding_length', { t: 'u32', v: h }],
    ['llama.block_count', { t: 'u32', v: arch.numLayers }],
    ['llama.feed_forward_length', { t: 'u32', v: arch.intermediateSize }],
    ['llama.attention.head_count', { t: 'u32', v: numHeads }],
    ['llama.attention.head_count_kv', { t: 'u32', v: numKvHeads }],
    ['llama.rope.freq_base', { t: 'f32', v: arch.ropeTheta }],
    ['llama.attention.layer_norm_rms_epsilon', { t: 'f32', v: arch.rmsEps }],
    ['tokenizer.ggml.model', { t: 'str', v: 'llama' }],
    ['tokenizer.ggml.tokens', { t: 'strs', v: vocab.tokens }],
    ['tokenizer.ggml.scores', { t: 'f32s', v: vocab.scores }],
    ['tokenizer.ggml.token_type', { t: 'i32s', v: vocab.types }],
    ['tokenizer.ggml.bos_token_id', { t: 'u32', v: 1 }],
    ['tokenizer.ggml.eos_token_id', { t: 'u32', v: 2 }],
    ['tokenizer.ggml.unknown_token_id', { t: 'u32', v: 0 }],
    ['tokenizer.ggml.add_bos_token', { t: 'bool', v: true }],
    ...extraMeta,
  ];
  await writeFile(path, encodeGguf(meta, [...tensors, ...extraTensors]));
}

class Writer {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  private at = 0;

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.at + n));
    next.set(this.buf);
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u32(v: number): void {
    this.room(4);
    this.view.setUint32(this.at, v, true);
    this.at += 4;
  }
  i32(v: number): void {
    this.room(4);
    this.view.setInt32(this.at, v, true);
    this.at += 4;
  }
  f32(v: number): void {
    this.room(4);
    this.view.setFloat32(this.at, v, true);
    this.at += 4;
  }
  u64(v: number): void {
    this.room(8);
    this.view.setBigUint64(this.at, BigInt(v), true);
    this.at += 8;
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }
  str(s: string): void {
    const b = new TextEncoder().encode(s);
    this.u64(b.length);
    this.bytes(b);
  }
  done(): Uint8Array {
    return this.buf.slice(0, this.at);
  }
}
