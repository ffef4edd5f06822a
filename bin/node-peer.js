#!/usr/bin/env node
// The `node-peer` CLI. Runs the bundle `npm run build:node` writes (dist/node-peer/main.mjs: our
// TypeScript in one file, packages left to node_modules) when it is newer than every source file,
// else the TypeScript itself through tsx, so no build step ever stands between a checkout and a
// peer and an edited source is never shadowed by an old bundle. The bundle starts in a third of
// the CPU time (tsx transpiles and resolves ~200 modules at every start; a swarm of peers
// starting together on one machine pays that many times over).
import { pathToFileURL } from 'node:url';
import { bundleIsFresh, bundlePath } from './node-peer-bundle.js';

if (process.env.RINGMESH_NO_BUNDLE !== '1' && bundleIsFresh()) {
  await import(pathToFileURL(bundlePath).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../node-peer/main.ts');
}
