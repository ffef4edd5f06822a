#!/usr/bin/env node
// The `node-peer` CLI. Runs the bundle `npm run build:node` writes (dist/node-peer/main.mjs: our
// TypeScript in one file, packages left to node_modules) when it is newer than every source file,
// else the TypeScript itself through tsx, so no build step ever stands between a checkout and a
// peer and an edited source is never shadowed by an old bundle. The bundle starts in a third of
// the CPU time (tsx transpiles and resolves ~200 modules at every start; a swarm of peers
// starting together on one machine pays that many times over).
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'dist', 'node-peer', 'main.mjs');

/** The newest mtime (ms) of any file below `dir`. */
function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

function bundleIsFresh() {
  let built;
  try {
    built = statSync(bundle).mtimeMs;
  } catch {
    return false; // never built
  }
  return built >= Math.max(newestMtime(join(root, 'node-peer')), newestMtime(join(root, 'shared')), statSync(join(root, 'package.json')).mtimeMs);
}

if (process.env.RINGMESH_NO_BUNDLE !== '1' && bundleIsFresh()) {
  await import(pathToFileURL(bundle).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../node-peer/main.ts');
}
