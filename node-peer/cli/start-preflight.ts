import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { RingmeshError } from '../../shared/errors.ts';

/** `--model` names a directory that holds no model package. */
export class ModelNotFoundError extends RingmeshError {
  constructor(
    readonly model: string,
    why: string,
  ) {
    super(`--model ${model}: ${why}; expected a model package directory (with manifest.json), an http(s) base URL or a model id (64 hex digits)`);
  }
}

/**
 * Checked before any network: a --model that is neither a model id nor a URL must be a package
 * directory on this machine (a typo would otherwise surface as a raw ENOENT after the signaling probe).
 */
export async function checkLocalModel(model: string): Promise<void> {
  if (/^[0-9a-f]{64}$/.test(model) || /^https?:\/\//.test(model)) return;
  const dir = await stat(model).catch(() => null);
  if (dir === null) throw new ModelNotFoundError(model, 'no such directory');
  if (!dir.isDirectory()) throw new ModelNotFoundError(model, 'not a directory');
  const manifest = await stat(join(model, 'manifest.json')).catch(() => null);
  if (manifest === null || !manifest.isFile()) throw new ModelNotFoundError(model, 'the directory has no manifest.json');
}
