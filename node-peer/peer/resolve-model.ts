import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { manifestFromFile } from '../../shared/pieces/manifest-bytes.ts';
import type { Origin } from '../../shared/pieces/origin.ts';
import { DirOrigin } from '../origin/dir-origin.ts';
import { HttpOrigin } from '../origin/http-origin.ts';

export interface ResolvedModel {
  readonly modelId: string;
  /** This peer's own package directory (a seed). */
  readonly localPackage?: Origin;
  /** Where pieces no peer has come from. */
  readonly origin?: Origin;
}

const MODEL_ID = /^[0-9a-f]{64}$/;

/** An origin from `--origin`: an http(s) URL (optionally with a bearer token) or a directory. */
export function originFrom(spec: string, token?: string): Origin {
  return /^https?:\/\//.test(spec) ? new HttpOrigin(spec, token ? { token } : {}) : new DirOrigin(spec);
}

/**
 * `--model` is a model id (the manifest then comes from peers or `--origin`), an http(s) base URL
 * (a remote package: it is the origin) or a directory (a local package: this peer seeds it). For
 * the last two the manifest is read here to learn the id, which names the signaling room.
 */
export async function resolveModel(model: string, originSpec: string | undefined, token?: string): Promise<ResolvedModel> {
  const origin = originSpec ? originFrom(originSpec, token) : undefined;
  if (MODEL_ID.test(model)) return { modelId: model, ...(origin ? { origin } : {}) };
  if (/^https?:\/\//.test(model)) {
    const remote = new HttpOrigin(model, token ? { token } : {});
    const { modelId } = await manifestFromFile(undefined, await remote.read('manifest.json'), `${model} manifest.json`);
    return { modelId, origin: origin ?? remote };
  }
  const path = join(model, 'manifest.json');
  const { modelId } = await manifestFromFile(undefined, new Uint8Array(await readFile(path)), path);
  return { modelId, localPackage: new DirOrigin(model), ...(origin ? { origin } : {}) };
}
