#!/usr/bin/env node
// The `node-peer` CLI. Runs the bundle `npm run build:node` writes (dist/node-peer/main.mjs: our
// TypeScript in one file, packages left to node_modules) when it is newer than every source file,
// else the TypeScript itself through tsx, so an edited source is never shadowed by an old bundle.
// `npm ci`/`npm install` build the bundle (the `prepare` script); the fallback says so on stderr,
// since the bundle starts in a third of the CPU time (tsx transpiles and resolves ~200 modules at
// every start; a swarm of peers starting together on one machine pays that many times over).
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { bundleIsFresh, bundlePath } from './node-peer-bundle.js';

if (process.env.RINGMESH_NO_BUNDLE !== '1' && bundleIsFresh()) {
  await import(pathToFileURL(bundlePath).href);
} else {
  if (process.env.RINGMESH_NO_BUNDLE !== '1') {
    const why = existsSync(bundlePath) ? 'is older than the sources' : 'is not built';
    process.stderr.write(`node-peer: dist/node-peer/main.mjs ${why}: running the TypeScript through tsx (slower start; \`npm run build:node\` bundles it)\n`);
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import('../node-peer/main.ts');
}
