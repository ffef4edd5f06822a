import { z } from 'zod';
import { ManifestInvalidError } from './errors.ts';
import { MANIFEST_FORMATS, TENSOR_ALIGNMENT, layerUnitName, type ModelManifest } from './manifest.ts';

import { tensorStorageBytes } from './tensor-dtypes.ts';

const posInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits');
// File names end up in paths: plain names only, never separators or a leading dot.
const plainFile = z.string().regex(/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/, 'expected a plain file name');
const unitName = z.string().regex(/^(embed|head|layer-\d{3,})$/, 'expected embed, head or layer-NNN');
const dtype = z.enum(['fp32', 'fp16', 'q8', 'q4']);

const ropeScaling = z.object({
  type: z.string().min(1),
  factor: z.number().positive(),
  lowFreqFactor: z.number().positive().optional(),
  highFreqFactor: z.number().positive().optional(),
  originalMaxPositions: posInt.optional(),
});

const architecture = z.object({
  family: z.literal('llama'),
  hiddenSize: posInt,
  intermediateSize: posInt,
  numLayers: posInt,
  numHeads: posInt,
  numKvHeads: posInt,
  headDim: posInt,
  vocabSize: posInt,
  contextLength: posInt,
  ropeTheta: z.number().positive(),
  ropeScaling: ropeScaling.nullable(),
  rmsEps: z.number().positive(),
  tiedEmbeddings: z.boolean(),
  attentionBias: z.boolean(),
});

const tokenizer = z.object({
  kind: z.enum(['llama2c', 'hf-json']),
  file: plainFile,
  bytes: nonNegInt,
  sha256,
  bos: nonNegInt.nullable(),
  eos: z.array(nonNegInt),
  addBos: z.boolean(),
  chatTemplate: z.string().nullable(),
});

const unit = z.object({ name: unitName, file: plainFile, bytes: posInt, pieces: z.array(sha256).min(1) });

const tensor = z.object({
  name: z.string().min(1),
  unit: unitName,
  dtype,
  shape: z.array(posInt).min(1),
  offset: nonNegInt,
  bytes: posInt,
});

const manifest = z
  .object({
    format: z.enum(MANIFEST_FORMATS),
    name: z.string(),
    architecture,
    dtype,
    pieceSize: posInt,
    tokenizer,
    units: z.array(unit),
    tensors: z.array(tensor),
  })
  .superRefine((m, ctx) => {
    const issue = (path: (string | number)[], message: string): void => {
      ctx.addIssue({ code: 'custom', path, message });
    };
    const a = m.architecture;
    if (a.numHeads % a.numKvHeads !== 0) issue(['architecture', 'numKvHeads'], `must divide numHeads ${a.numHeads}`);
    const expected = ['embed', ...Array.from({ length: a.numLayers }, (_, i) => layerUnitName(i)), 'head'];
    if (m.units.map((u) => u.name).join() !== expected.join()) {
      issue(['units'], `expected units ${expected[0]}, ${expected[1]} … head in order (${expected.length} in all)`);
    }
    const unitBytes = new Map<string, number>();
    m.units.forEach((u, i) => {
      unitBytes.set(u.name, u.bytes);
      if (u.file !== `${u.name}.bin`) issue(['units', i, 'file'], `expected ${u.name}.bin`);
      const pieces = Math.ceil(u.bytes / m.pieceSize);
      if (u.pieces.length !== pieces) issue(['units', i, 'pieces'], `expected ${pieces} piece hashes for ${u.bytes} bytes`);
    });
    const names = new Set<string>();
    m.tensors.forEach((t, i) => {
      if (names.has(t.name)) issue(['tensors', i, 'name'], `duplicate tensor ${t.name}`);
      names.add(t.name);
      const size = tensorStorageBytes(t.dtype, t.shape);
      if (size === null) issue(['tensors', i, 'dtype'], `${t.dtype} needs a 2-D shape, got [${t.shape.join(', ')}]`);
      else if (t.bytes !== size) issue(['tensors', i, 'bytes'], `expected ${size} for shape [${t.shape.join(', ')}] ${t.dtype}`);
      if (m.format === 'ringmesh-model/1' && t.dtype !== 'fp32' && t.dtype !== 'fp16')
        issue(['tensors', i, 'dtype'], `${t.dtype} needs format ringmesh-model/2`);
      if (t.offset % TENSOR_ALIGNMENT !== 0) issue(['tensors', i, 'offset'], `must be a multiple of ${TENSOR_ALIGNMENT}`);
      const limit = unitBytes.get(t.unit);
      if (limit === undefined) issue(['tensors', i, 'unit'], `unit ${t.unit} is not listed`);
      else if (t.offset + t.bytes > limit) issue(['tensors', i, 'offset'], `tensor ${t.name} ends past unit ${t.unit} (${limit} bytes)`);
    });
  });

/**
 * Validates a parsed manifest.json value. Throws ManifestInvalidError naming the first bad field
 * (dotted path, e.g. `units.3.pieces`) and `file`.
 */
export function parseManifest(json: unknown, file = 'manifest.json'): ModelManifest {
  const result = manifest.safeParse(json);
  if (!result.success) {
    const first = result.error.issues[0];
    const field = first === undefined || first.path.length === 0 ? '(root)' : first.path.map(String).join('.');
    throw new ManifestInvalidError(file, field, first?.message ?? 'invalid', { cause: result.error });
  }
  return result.data as ModelManifest;
}
