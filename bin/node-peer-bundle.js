// Where `npm run build:node` writes the node-peer bundle, and whether it is current: newer than
// every file it was built from (node-peer/, shared/) and than package.json and package-lock.json
// (the bundle holds node-peer's pure-JS dependencies, scripts/build-node-bundle.ts). One rule for the
// launcher (bin/node-peer.js, which runs the bundle only when current) and `npm start` (which
// rebuilds it when not).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const bundlePath = join(root, 'dist', 'node-peer', 'main.mjs');

/** The newest mtime (ms) of any file below `dir`. */
function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

export function bundleIsFresh() {
  let built;
  try {
    built = statSync(bundlePath).mtimeMs;
  } catch {
    return false; // never built
  }
  const lock = join(root, 'package-lock.json');
  const lockMtime = existsSync(lock) ? statSync(lock).mtimeMs : 0;
  return built >= Math.max(newestMtime(join(root, 'node-peer')), newestMtime(join(root, 'shared')), statSync(join(root, 'package.json')).mtimeMs, lockMtime);
}
