// Reads a node peer's cache directory straight from disk and checks every piece file against its
// name (content address): what a crash or a bad peer could have left behind.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelManifest } from '../../shared/model/manifest.ts';

export interface CacheCheck {
  /** How many piece files (the manifest included). */
  readonly pieces: number;
  /** Files whose bytes do not hash to their name. */
  readonly corrupt: string[];
  /** Pieces of the manifest with no file. */
  readonly missing: number;
  readonly tmpFiles: number;
  /** The piece hashes that have a file. */
  readonly present: string[];
}

export async function checkCacheDir(dir: string, manifest: ModelManifest): Promise<CacheCheck> {
  const root = join(dir, 'pieces');
  const corrupt: string[] = [];
  const present = new Set<string>();
  for (const fan of await readdir(root)) {
    for (const name of await readdir(join(root, fan))) {
      const hash = createHash('sha256')
        .update(await readFile(join(root, fan, name)))
        .digest('hex');
      if (hash !== name) corrupt.push(name);
      present.add(name);
    }
  }
  const all = manifest.units.flatMap((u) => u.pieces);
  return {
    pieces: present.size,
    corrupt,
    missing: all.filter((h) => !present.has(h)).length,
    tmpFiles: (await readdir(join(dir, 'tmp'))).length,
    present: [...present],
  };
}
