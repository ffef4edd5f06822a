// `npm run bench -- <name> [args…]` runs bench/<name>.ts, which prints a table and writes
// bench/results/<name>-<timestamp>.json. Benchmarks are never part of the pass/fail tests.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'index.ts' && !f.startsWith('_'))
  .map((f) => f.slice(0, -3));
const [name, ...rest] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join('|')}> [options]`);
  process.exit(2);
}
process.argv = [process.argv[0] ?? 'node', join(here, `${name}.ts`), ...rest];
await import(`./${name}.ts`);
