/**
 * The model package (docs/model-package.md): `manifest.json` + one file per unit + tokenizer.
 *
 * Conventions every part of ringmesh relies on:
 * - Units: `embed`, `layer-000` … `layer-NNN` (3+ digits, zero-padded), `head`. File = `<unit>.bin`.
 * - Tensors are stored row-major; linear weights as [out, in] (PyTorch `Linear` layout).
 *   Offsets inside a unit file are multiples of TENSOR_ALIGNMENT so typed-array views need no copy.
 * - Tensor names (the `name` field), per unit:
 *     embed:      `embed.weight` [vocab, hidden]
 *     layer-i:    `layers.i.attn_norm.weight` [hidden]
 *                 `layers.i.q.weight` [heads*headDim, hidden]   (+ optional `layers.i.q.bias`)
 *                 `layers.i.k.weight` [kvHeads*headDim, hidden] (+ optional `.bias`)
 *                 `layers.i.v.weight` [kvHeads*headDim, hidden] (+ optional `.bias`)
 *                 `layers.i.o.weight` [hidden, heads*headDim]
 *                 `layers.i.ffn_norm.weight` [hidden]
 *                 `layers.i.gate.weight` [intermediate, hidden]  (llama2.c w1)
 *                 `layers.i.up.weight`   [intermediate, hidden]  (llama2.c w3)
 *                 `layers.i.down.weight` [hidden, intermediate]  (llama2.c w2)
 *     head:       `final_norm.weight` [hidden], `lm_head.weight` [vocab, hidden]
 *                 (a copy of the embedding when `tiedEmbeddings`, so the last stage is self-contained)
 * - Each tensor has its own `dtype`; the manifest's `dtype` names the package's precision and
 *   tensorDTypeFor (tensor-dtypes.ts) says which tensors a converter stores at what. q8/q4 tensors
 *   are block-quantized matrices (quant-blocks.ts). Byte order is little-endian.
 * - RoPE uses the Hugging Face "rotate half" layout; converters from interleaved checkpoints
 *   (llama2.c, Meta) permute q/k rows so the graph needs only one layout.
 */
/** What writers write. Version 2 added per-tensor q8/q4; version 1 packages (fp32/fp16) still open. */
export const MANIFEST_FORMAT = 'ringmesh-model/2';
export const MANIFEST_FORMATS = ['ringmesh-model/1', MANIFEST_FORMAT] as const;
export type ManifestFormat = (typeof MANIFEST_FORMATS)[number];
export const DEFAULT_PIECE_SIZE = 4 * 1024 * 1024;
export const TENSOR_ALIGNMENT = 64;

export type WeightDType = 'fp32' | 'fp16' | 'q8' | 'q4';
export type UnitName = 'embed' | 'head' | `layer-${string}`;

export interface RopeScaling {
  /** e.g. 'linear', 'llama3', 'dynamic'; unknown kinds are rejected at conversion. */
  readonly type: string;
  readonly factor: number;
  readonly lowFreqFactor?: number;
  readonly highFreqFactor?: number;
  readonly originalMaxPositions?: number;
}

export interface LlamaArchitecture {
  readonly family: 'llama';
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly vocabSize: number;
  /** Longest sequence (prompt + generated) the model serves. */
  readonly contextLength: number;
  readonly ropeTheta: number;
  readonly ropeScaling: RopeScaling | null;
  readonly rmsEps: number;
  readonly tiedEmbeddings: boolean;
  /** Whether q/k/v carry biases (Qwen2). */
  readonly attentionBias: boolean;
}

export interface TensorEntry {
  readonly name: string;
  readonly unit: UnitName;
  readonly dtype: WeightDType;
  readonly shape: readonly number[];
  /** Byte offset inside the unit file. */
  readonly offset: number;
  readonly bytes: number;
}

export interface UnitEntry {
  readonly name: UnitName;
  readonly file: string;
  readonly bytes: number;
  /** Hex SHA-256 of each fixed-size piece of the unit file, in order (the last may be shorter). */
  readonly pieces: readonly string[];
}

export type TokenizerKind = 'llama2c' | 'hf-json';

export interface TokenizerEntry {
  readonly kind: TokenizerKind;
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
  /** Begin-of-sequence id, or null when the model uses none. */
  readonly bos: number | null;
  /** Ids that end generation. */
  readonly eos: readonly number[];
  readonly addBos: boolean;
  /** Jinja chat template from tokenizer_config.json, when the model has one. */
  readonly chatTemplate: string | null;
}

export interface ModelManifest {
  readonly format: ManifestFormat;
  readonly name: string;
  readonly architecture: LlamaArchitecture;
  /** The package's precision (activations are always fp32); each tensor's own dtype governs it. */
  readonly dtype: WeightDType;
  readonly pieceSize: number;
  readonly tokenizer: TokenizerEntry;
  readonly units: readonly UnitEntry[];
  readonly tensors: readonly TensorEntry[];
}

export function layerUnitName(layer: number): UnitName {
  return `layer-${String(layer).padStart(3, '0')}`;
}

/** Units a stage holding layers [start, end) needs, in order. */
export function unitsForRange(numLayers: number, start: number, end: number): UnitName[] {
  const units: UnitName[] = [];
  if (start === 0) units.push('embed');
  for (let i = start; i < end; i++) units.push(layerUnitName(i));
  if (end === numLayers) units.push('head');
  return units;
}
