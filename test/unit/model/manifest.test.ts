import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../shared/model/canonical-json.ts';
import { ManifestInvalidError } from '../../../shared/model/errors.ts';
import { MANIFEST_FORMAT, TENSOR_ALIGNMENT, type ModelManifest } from '../../../shared/model/manifest.ts';
import { parseManifest } from '../../../shared/model/manifest-schema.ts';
import { computeModelId } from '../../../shared/model/model-id.ts';
import { hashPieces } from '../../../shared/model/pieces.ts';
import { planUnitLayout } from '../../../shared/model/unit-layout.ts';

const H = 'a'.repeat(64);

function tinyManifest(): ModelManifest {
  const arch = {
    family: 'llama',
    hiddenSize: 4,
    intermediateSize: 8,
    numLayers: 1,
    numHeads: 2,
    numKvHeads: 1,
    headDim: 2,
    vocabSize: 3,
    contextLength: 16,
    ropeTheta: 10000,
    ropeScaling: null,
    rmsEps: 1e-5,
    tiedEmbeddings: true,
    attentionBias: false,
  } as const;
  const embed = planUnitLayout('embed', [{ name: 'embed.weight', dtype: 'fp32', shape: [3, 4] }]);
  const layer = planUnitLayout('layer-000', [
    { name: 'layers.0.attn_norm.weight', dtype: 'fp32', shape: [4] },
    { name: 'layers.0.q.weight', dtype: 'fp32', shape: [3, 4] },
  ]);
  const head = planUnitLayout('head', [{ name: 'final_norm.weight', dtype: 'fp32', shape: [4] }]);
  return {
    format: MANIFEST_FORMAT,
    name: 'tiny',
    architecture: arch,
    dtype: 'fp32',
    pieceSize: 32,
    tokenizer: { kind: 'llama2c', file: 'tokenizer.bin', bytes: 1, sha256: H, bos: 1, eos: [1], addBos: true, chatTemplate: null },
    units: [embed, layer, head].map((u) => ({ name: u.unit, file: `${u.unit}.bin`, bytes: u.bytes, pieces: Array(Math.ceil(u.bytes / 32)).fill(H) })),
    tensors: [...embed.tensors, ...layer.tensors, ...head.tensors],
  };
}

describe('manifest schema', () => {
  it('accepts a well-formed manifest', () => {
    expect(parseManifest(structuredClone(tinyManifest())).name).toBe('tiny');
  });

  it('still opens format 1 packages (fp32/fp16), but q8/q4 tensors need format 2', () => {
    expect(parseManifest({ ...structuredClone(tinyManifest()), format: 'ringmesh-model/1' }).format).toBe('ringmesh-model/1');
    const q = structuredClone(tinyManifest()) as unknown as {
      format: string;
      tensors: { name: string; dtype: string; shape: number[]; bytes: number; offset: number }[];
      units: { bytes: number; pieces: string[] }[];
    };
    // layers.0.q.weight [3, 4] at q8: 3 rows × 1 block × 32 codes, padded to 128, then 3 fp16 scales.
    const t = q.tensors[2] as (typeof q.tensors)[number];
    Object.assign(t, { dtype: 'q8', bytes: 134 });
    const unit = q.units[1] as (typeof q.units)[number];
    unit.bytes = t.offset + 134;
    unit.pieces = Array(Math.ceil(unit.bytes / 32)).fill(H);
    expect(parseManifest(q).tensors[2]?.dtype).toBe('q8');
    expect(() => parseManifest({ ...q, format: 'ringmesh-model/1' })).toThrow(/tensors\.2\.dtype.*format ringmesh-model\/2/);
    Object.assign(t, { shape: [12], bytes: 134 });
    expect(() => parseManifest(q)).toThrow(/q8 needs a 2-D shape/);
  });

  // [what, path to the field, new value (DELETE removes it, POP drops the last element), field named]
  const DELETE = Symbol('delete');
  const POP = Symbol('pop');
  const cases: [string, (string | number)[], unknown, string][] = [
    ['wrong format', ['format'], 'other/1', 'format'],
    ['negative hidden size', ['architecture', 'hiddenSize'], -1, 'architecture.hiddenSize'],
    ['kv heads not dividing heads', ['architecture', 'numKvHeads'], 3, 'architecture.numKvHeads'],
    ['missing piece hash', ['units', 1, 'pieces'], POP, 'units.1.pieces'],
    ['bad hash', ['units', 0, 'pieces', 0], 'xyz', 'units.0.pieces.0'],
    ['path in file name', ['units', 0, 'file'], '../embed.bin', 'units.0.file'],
    ['misaligned tensor', ['tensors', 2, 'offset'], 20, 'tensors.2.offset'],
    ['bytes not matching shape', ['tensors', 0, 'bytes'], 4, 'tensors.0.bytes'],
    ['tensor past its unit', ['tensors', 3, 'offset'], 64, 'tensors.3.offset'],
    ['missing unit', ['units'], POP, 'units'],
    ['missing tokenizer field', ['tokenizer', 'sha256'], DELETE, 'tokenizer.sha256'],
  ];
  for (const [what, path, value, field] of cases) {
    it(`rejects ${what}, naming ${field}`, () => {
      const m: unknown = structuredClone(tinyManifest());
      const parent = path.slice(0, -1).reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], m) as Record<string | number, unknown>;
      const key = path[path.length - 1] as string | number;
      if (value === DELETE) delete parent[key];
      else if (value === POP) (parent[key] as unknown[]).pop();
      else parent[key] = value;
      let caught: unknown;
      try {
        parseManifest(m, 'x/manifest.json');
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ManifestInvalidError);
      expect((caught as ManifestInvalidError).field).toBe(field);
      expect((caught as ManifestInvalidError).file).toBe('x/manifest.json');
    });
  }
});

describe('canonical JSON and model id', () => {
  it('sorts keys at every depth and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 'x', c: null }], u: undefined })).toBe('{"a":[{"c":null,"d":"x"}],"b":1}');
  });

  it('gives the same id for reordered keys and a different id for any change', async () => {
    const m = tinyManifest();
    const reordered = Object.fromEntries(Object.entries(m).reverse());
    expect(await computeModelId(reordered)).toBe(await computeModelId(m));
    expect(await computeModelId({ ...m, name: 'tiny2' })).not.toBe(await computeModelId(m));
    expect(await computeModelId(m)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('unit layout and pieces', () => {
  it('aligns every tensor offset to TENSOR_ALIGNMENT', () => {
    const l = planUnitLayout('layer-000', [
      { name: 'a', dtype: 'fp16', shape: [3] },
      { name: 'b', dtype: 'fp32', shape: [5, 7] },
      { name: 'c', dtype: 'fp32', shape: [1] },
    ]);
    expect(l.tensors.map((t) => t.offset)).toEqual([0, TENSOR_ALIGNMENT, 2 * TENSOR_ALIGNMENT + 128]);
    expect(l.bytes).toBe(2 * TENSOR_ALIGNMENT + 128 + 4);
  });

  it('hashes fixed-size pieces with a shorter last piece', async () => {
    const bytes = new Uint8Array(70).map((_, i) => i);
    const hashes = await hashPieces(bytes, 32);
    expect(hashes).toHaveLength(3);
    expect(hashes[2]).toBe(await hashPieces(bytes.subarray(64), 32).then((h) => h[0]));
  });
});
