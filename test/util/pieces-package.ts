// Writes a model package of random (incompressible, seeded) bytes for piece-layer tests and the
// swarm bench: real manifest (schema-valid, real piece hashes), unit files, tokenizer; no tensors,
// since nothing here runs the model.
import { createCipheriv, createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Hex } from '../../shared/crypto/sha256.ts';
import type { ModelId } from '../../shared/ids.ts';
import { layerUnitName, MANIFEST_FORMAT, type ModelManifest, type UnitName } from '../../shared/model/manifest.ts';
import { parseManifest } from '../../shared/model/manifest-schema.ts';
import { computeModelId } from '../../shared/model/model-id.ts';
import { hashPieces } from '../../shared/model/pieces.ts';

export interface SyntheticPackageSpec {
  readonly layers: number;
  /** Bytes of each layer unit; embed and head get the same (the last piece is left short). */
  readonly unitBytes: number;
  readonly pieceSize: number;
  readonly seed: number;
  readonly name?: string;
}

/** Deterministic pseudo-random bytes (AES-256-CTR keystream of a seed): fast and incompressible. */
export function randomStream(seed: number | string, size: number): Uint8Array {
  const key = createHash('sha256').update(`ringmesh-test-${seed}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const out = cipher.update(Buffer.alloc(size));
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

export interface SyntheticPackage {
  readonly manifest: ModelManifest;
  readonly modelId: ModelId;
  /** Bytes of all unit files. */
  readonly bytes: number;
  /** Every file of the package (manifest.json pretty-printed, as a writer would). */
  readonly files: ReadonlyMap<string, Uint8Array>;
}

export async function writeSyntheticPackage(dir: string, spec: SyntheticPackageSpec): Promise<SyntheticPackage> {
  await mkdir(dir, { recursive: true });
  const pkg = await buildSyntheticPackage(spec);
  for (const [file, data] of pkg.files) await writeFile(join(dir, file), data);
  return pkg;
}

export async function buildSyntheticPackage(spec: SyntheticPackageSpec): Promise<SyntheticPackage> {
  const files = new Map<string, Uint8Array>();
  const names: UnitName[] = ['embed', ...Array.from({ length: spec.layers }, (_, i) => layerUnitName(i)), 'head'];
  const units = [];
  let total = 0;
  for (const name of names) {
    // Make the last piece of each unit short, as in real packages.
    const bytes = spec.unitBytes - (name === 'head' ? 0 : Math.floor(spec.pieceSize / 3));
    const data = randomStream(`${spec.seed}-${name}`, bytes);
    files.set(`${name}.bin`, data);
    units.push({ name, file: `${name}.bin`, bytes, pieces: await hashPieces(data, spec.pieceSize) });
    total += bytes;
  }
  const tok = new TextEncoder().encode(JSON.stringify({ model: { type: 'byte-level', seed: spec.seed } }));
  files.set('tokenizer.json', tok);
  const json = {
    format: MANIFEST_FORMAT,
    name: spec.name ?? `synthetic-${spec.seed}`,
    architecture: {
      family: 'llama',
      hiddenSize: 64,
      intermediateSize: 128,
      numLayers: spec.layers,
      numHeads: 4,
      numKvHeads: 4,
      headDim: 16,
      vocabSize: 256,
      contextLength: 256,
      ropeTheta: 10000,
      ropeScaling: null,
      rmsEps: 1e-5,
      tiedEmbeddings: false,
      attentionBias: false,
    },
    dtype: 'fp32',
    pieceSize: spec.pieceSize,
    tokenizer: {
      kind: 'hf-json',
      file: 'tokenizer.json',
      bytes: tok.length,
      sha256: await sha256Hex(tok),
      bos: null,
      eos: [0],
      addBos: false,
      chatTemplate: null,
    },
    units,
    tensors: [],
  };
  // Pretty-printed on purpose: the id is over canonical bytes, not the file's bytes.
  files.set('manifest.json', new TextEncoder().encode(JSON.stringify(json, null, 2)));
  return { manifest: parseManifest(json), modelId: await computeModelId(json), bytes: total, files };
}
