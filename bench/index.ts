// `npm run bench -- <name> [args…]` runs bench/<name>.ts, which prints a table and writes
// bench/results/<name>-<timestamp>.json. Benchmarks are never part of the pass/fail tests.
// Every bench first brings the node-peer bundle up to date: a peer process started from stale
// sources runs through tsx, whose start-up would be measured instead of ringmesh's.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleIsFresh } from '../bin/node-peer-bundle.js';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'index.ts' && !f.startsWith('_'))
  .map((f) => f.slice(0, -3));
const [name, ...rest] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join('|')}> [options]`);
  process.exit(2);
}
if (!bundleIsFresh()) {
  console.error('bench: building the node-peer bundle (dist/node-peer is missing or older than the sources)');
  execFileSync(process.execPath, ['--import', 'tsx', join(here, '..', 'scripts', 'build-node-bundle.ts')], { cwd: join(here, '..'), stdio: 'inherit' });
}
process.argv = [process.argv[0] ?? 'node', join(here, `${name}.ts`), ...rest];
await import(`./${name}.ts`);
