import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Hex } from '../../shared/crypto/sha256.ts';
import type { ModelId } from '../../shared/ids.ts';
import { PieceHashMismatchError } from '../../shared/model/errors.ts';
import type { ModelManifest } from '../../shared/model/manifest.ts';
import { parseManifest } from '../../shared/model/manifest-schema.ts';
import { computeModelId } from '../../shared/model/model-id.ts';
import { findUnit, verifyUnit } from '../../shared/model/pieces.ts';
import { PackageReadError } from './errors.ts';

export interface ModelPackage {
  readonly dir: string;
  readonly manifest: ModelManifest;
  readonly modelId: ModelId;
  /** The unit file's bytes, every piece verified against the manifest (PieceHashMismatchError if not). */
  readUnit(name: string): Promise<Uint8Array>;
  /** The tokenizer file's bytes, verified against the manifest's sha256. */
  readTokenizer(): Promise<Uint8Array>;
}

/** Opens a package directory: reads and validates manifest.json; unit files are read on demand. */
export async function openModelPackage(dir: string): Promise<ModelPackage> {
  const manifestPath = join(dir, 'manifest.json');
  const text = await readText(manifestPath);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new PackageReadError(manifestPath, 'not valid JSON', { cause: err });
  }
  const manifest = parseManifest(json, manifestPath);
  const modelId = await computeModelId(json);
  return {
    dir,
    manifest,
    modelId,
    async readUnit(name) {
      const unit = findUnit(manifest, name);
      const path = join(dir, unit.file);
      const bytes = await readBytes(path);
      await verifyUnit(manifest, name, bytes, path);
      return bytes;
    },
    async readTokenizer() {
      const tok = manifest.tokenizer;
      const path = join(dir, tok.file);
      const bytes = await readBytes(path);
      const actual = await sha256Hex(bytes);
      if (actual !== tok.sha256) throw new PieceHashMismatchError('tokenizer', 0, tok.sha256, actual, path);
      return bytes;
    },
  };
}

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    const buf = await readFile(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
  } catch (err) {
    throw new PackageReadError(path, 'cannot read package file', { cause: err });
  }
}

async function readText(path: string): Promise<string> {
  return new TextDecoder().decode(await readBytes(path));
}
