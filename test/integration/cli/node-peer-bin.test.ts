// bin/node-peer.js picks the bundle only while it is newer than every source it was built from, so
// an edited source is never shadowed by an old bundle. The real launcher runs in a scratch copy of
// the layout (bin/, node-peer/, shared/, package.json, dist/node-peer/main.mjs) whose "CLI" only
// says which one ran.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../util/temp-dir.ts';

const ROOT = join(import.meta.dirname, '../../..');
const tmp = makeTempDir('bin');
const at = (p: string): string => tmp.path(p);
const run = (env: NodeJS.ProcessEnv = {}): string =>
  execFileSync(process.execPath, [at('bin/node-peer.js')], { env: { ...process.env, ...env }, encoding: 'utf8' }).trim();
const setTime = (p: string, s: number): void => utimesSync(at(p), s, s);
const stderrOf = (env: NodeJS.ProcessEnv = {}): string =>
  spawnSync(process.execPath, [at('bin/node-peer.js')], { env: { ...process.env, ...env }, encoding: 'utf8' }).stderr;

beforeAll(() => {
  for (const d of ['bin', 'node-peer/cli', 'shared/wire', 'dist/node-peer']) mkdirSync(at(d), { recursive: true });
  for (const f of ['node-peer.js', 'node-peer-bundle.js']) copyFileSync(join(ROOT, 'bin', f), at(`bin/${f}`));
  symlinkSync(join(ROOT, 'node_modules'), at('node_modules')); // tsx, for the source path
  writeFileSync(at('package.json'), '{"type":"module"}');
  writeFileSync(at('node-peer/main.ts'), "const from: string = 'source';\nconsole.log(from);\n");
  writeFileSync(at('node-peer/cli/x.ts'), 'export {};\n');
  writeFileSync(at('shared/wire/y.ts'), 'export {};\n');
  writeFileSync(at('dist/node-peer/main.mjs'), "console.log('bundle');\n");
  for (const f of ['package.json', 'node-peer/main.ts', 'node-peer/cli/x.ts', 'shared/wire/y.ts']) setTime(f, 1_000_000);
  setTime('dist/node-peer/main.mjs', 2_000_000);
});
afterAll(() => tmp.cleanup());

describe('bin/node-peer.js', () => {
  it('runs the bundle when it is newer than every source', () => {
    expect(run()).toBe('bundle');
  });

  it('runs the sources through tsx when asked not to use the bundle', () => {
    expect(run({ RINGMESH_NO_BUNDLE: '1' })).toBe('source');
  });

  it('runs the sources once any of them (nested in shared/ too) is newer than the bundle', () => {
    setTime('shared/wire/y.ts', 3_000_000);
    expect(run()).toBe('source');
    setTime('dist/node-peer/main.mjs', 4_000_000); // rebuilt
    expect(run()).toBe('bundle');
    setTime('package.json', 5_000_000); // dependencies changed
    expect(run()).toBe('source');
  });

  it('says on stderr when it runs the sources because the bundle is stale (not when asked to)', () => {
    setTime('dist/node-peer/main.mjs', 1_000);
    expect(stderrOf()).toBe(
      'node-peer: dist/node-peer/main.mjs is older than the sources: running the TypeScript through tsx (slower start; `npm run build:node` bundles it)\n',
    );
    expect(stderrOf({ RINGMESH_NO_BUNDLE: '1' })).toBe('');
    setTime('dist/node-peer/main.mjs', 9_000_000);
    expect(stderrOf()).toBe('');
  });
});
