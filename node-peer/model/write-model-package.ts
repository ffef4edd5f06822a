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
  type WeightDType,
} from '../../shared/model/manifest.ts';
import { parseManifest } from '../../shared/model/manifest-schema.ts';
import { computeModelId } from '../../shared/model/model-id.ts';
import { OutputExistsError } from './errors.ts';
import { writeUnitFile, type UnitContent } from './unit-file-writer.ts';

export type { TensorData, TensorWrite, UnitContent } from './unit-file-writer.ts';

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
 * exist or be empty. Unit files are written tensor by tensor (slab by slab where a tensor has a
 * producer) and hashed piece by piece: memory stays bounded by a slab, not by a unit.
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
      const { entry, layout } = await writeUnitFile(join(tmp, file), unit, pieceSize);
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
