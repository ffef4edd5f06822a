import { mkdir, readdir, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { sha256Hex } from '../../shared/crypto/sha256.ts';
import type { ModelId } from '../../shared/ids.ts';
import {
  DEFAULT_PIECE_SIZE,
  MANIFEST_FORMAT,
  type LlamaArchitecture,
  type ModelManifest,
  type TensorEntry,
  type TokenizerKind,
  type UnitEntry,
  type UnitName,
  type WeightDType,
} from '../../shared/model/manifest.ts';
import { parseManifest } from '../../shared/model/manifest-schema.ts';
import { computeModelId } from '../../shared/model/model-id.ts';
import { hashPieces } from '../../shared/model/pieces.ts';
import { planUnitLayout, type TensorSpec } from '../../shared/model/unit-layout.ts';
import { OutputExistsError, PackageWriteError } from './errors.ts';

/** One tensor's bytes, already in the package's storage dtype and layout. */
export interface TensorData extends TensorSpec {
  readonly data: Uint8Array;
}

/** One unit's tensors, in file order. Produced lazily so only one unit is in memory at a time. */
export interface UnitContent {
  readonly name: UnitName;
  readonly tensors: readonly TensorData[];
}

export interface PackageSpec {
  readonly name: string;
  readonly architecture: LlamaArchitecture;
  readonly dtype: WeightDType;
  readonly pieceSize?: number;
  readonly tokenizer: {
    readonly kind: TokenizerKind;
    readonly file: string;
    readonly data: Uint8Array;
    readonly bos: number | null;
    readonly eos: readonly number[];
    readonly addBos: boolean;
    readonly chatTemplate: string | null;
  };
  /** Units in manifest order (embed, layer-000 …, head). */
  readonly units: AsyncIterable<UnitContent> | Iterable<UnitContent>;
}

/**
 * Writes a model package into a temporary directory beside `outDir` and renames it into place, so
 * a failure (including one thrown by the `units` producer) leaves nothing behind. `outDir` must not
 * exist or be empty.
 */
export async function writeModelPackage(outDir: string, spec: PackageSpec): Promise<{ manifest: ModelManifest; modelId: ModelId }> {
  await assertWritableTarget(outDir);
  const tmp = join(dirname(outDir), `.${basename(outDir)}.tmp-${process.pid}-${Date.now().toString(36)}`);
  await mkdir(tmp, { recursive: true });
  try {
    const pieceSize = spec.pieceSize ?? DEFAULT_PIECE_SIZE;
    const units: UnitEntry[] = [];
    const tensors: TensorEntry[] = [];
    for await (const unit of spec.units) {
      const file = `${unit.name}.bin`;
      const { entry, layout } = await writeUnit(join(tmp, file), unit, pieceSize);
      units.push(entry);
      tensors.push(...layout);
    }
    const tok = spec.tokenizer;
    await writeFile(join(tmp, tok.file), tok.data);
    const json = {
      format: MANIFEST_FORMAT,
      name: spec.name,
      architecture: spec.architecture,
      dtype: spec.dtype,
      pieceSize,
      tokenizer: {
        kind: tok.kind,
        file: tok.file,
        bytes: tok.data.length,
        sha256: await sha256Hex(tok.data),
        bos: tok.bos,
        eos: [...tok.eos],
        addBos: tok.addBos,
        chatTemplate: tok.chatTemplate,
      },
      units,
      tensors,
    };
    // Validate what we wrote with the same schema readers use: a writer bug fails here, not later.
    const manifest = parseManifest(json, join(outDir, 'manifest.json'));
    await writeFile(join(tmp, 'manifest.json'), `${JSON.stringify(json, null, 1)}\n`);
    await rmdir(outDir).catch(() => undefined); // an empty target is replaced; a missing one is fine
    await rename(tmp, outDir);
    return { manifest, modelId: await computeModelId(json) };
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

async function assertWritableTarget(outDir: string): Promise<void> {
  const entries = await readdir(outDir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    if (err.code === 'ENOTDIR') return ['(a file)'];
    throw err;
  });
  if (entries.length > 0) throw new OutputExistsError(outDir);
}

async function writeUnit(path: string, unit: UnitContent, pieceSize: number): Promise<{ entry: UnitEntry; layout: TensorEntry[] }> {
  const layout = planUnitLayout(unit.name, unit.tensors);
  const bytes = new Uint8Array(layout.bytes);
  unit.tensors.forEach((t, i) => {
    const place = layout.tensors[i] as TensorEntry;
    if (t.data.length !== place.bytes) {
      throw new PackageWriteError(path, `tensor ${t.name}: expected ${place.bytes} bytes for shape [${t.shape.join(', ')}] ${t.dtype}, got ${t.data.length}`);
    }
    bytes.set(t.data, place.offset);
  });
  await writeFile(path, bytes);
  const entry: UnitEntry = { name: unit.name, file: basename(path), bytes: bytes.length, pieces: await hashPieces(bytes, pieceSize) };
  return { entry, layout: [...layout.tensors] };
}
