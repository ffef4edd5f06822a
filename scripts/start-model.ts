// The package `npm start` serves: the built-in aidreams260K model converted to q8 (once, into the
// state dir), a seeded random model of a chosen size (written once per shape), or a given package.
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { convertLlama2c } from '../node-peer/convert/convert-llama2c.ts';
import { writeDemoModel } from '../node-peer/convert/demo-model.ts';
import { openModelPackage, type ModelPackage } from '../node-peer/model/open-model-package.ts';
import { randomModelDirName, type StartModel } from './start-options.ts';

/** The built-in model's sources: a llama2.c checkpoint and the tokenizer it was trained with. */
export const BUILTIN_MODELS_DIR = join(import.meta.dirname, '..', 'models');
export const BUILTIN_CHECKPOINT = join(BUILTIN_MODELS_DIR, 'aidreams260K.bin');
export const BUILTIN_TOKENIZER = join(BUILTIN_MODELS_DIR, 'aidreams-tok512.bin');
/** Its converted package under the state dir (the dtype in the name: a later choice gets its own). */
export const BUILTIN_PACKAGE = 'aidreams260K-q8';

/**
 * Returns the package to serve, writing it first when the state dir has no readable one. The
 * conversion is deterministic, so the model id (the room) is the same on every machine.
 */
export async function prepareStartModel(model: StartModel, stateDir: string, say: (line: string) => void): Promise<ModelPackage> {
  if (model.kind === 'dir') return openModelPackage(model.dir);
  const dir = join(stateDir, 'models', model.kind === 'aidreams' ? BUILTIN_PACKAGE : randomModelDirName(model.shape));
  if (existsSync(join(dir, 'manifest.json'))) {
    // A package an older ringmesh wrote in a format this one refuses is written again.
    const pkg = await openModelPackage(dir).catch(() => null);
    if (pkg !== null) return pkg;
  }
  say(`writing the ${model.kind === 'aidreams' ? 'aidreams260K model (q8)' : 'random demo model'} to ${dir} (once)…`);
  // Written beside it and renamed: an interrupted start leaves no half package behind.
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(join(stateDir, 'models'), { recursive: true });
  if (model.kind === 'aidreams') {
    // Default piece size: the same package, and model id, as `node-peer convert … --dtype q8`.
    await convertLlama2c(BUILTIN_CHECKPOINT, BUILTIN_TOKENIZER, tmp, { dtype: 'q8' });
  } else {
    await writeDemoModel(tmp, model.shape, { pieceSize: 1024 * 1024 });
  }
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
  return openModelPackage(dir);
}
