// The shipped page (`vite build` → dist/web, what ringmesh-signal serves) carries none of the
// page's test hooks: no `window.ringmesh` and no bare lobby (docs/web-page.md, "Test hooks"). The
// test build (`vite build --mode test` → dist/web-test) carries them, so the markers searched for
// are real ones and not names the minifier changed.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureTestWebBuild, ensureWebBuild, TEST_WEB_DIR, WEB_DIR } from '../../util/webrtc-chromium.ts';

/** Text only the debug hook has: its method name and its assignment to `window.ringmesh`. */
const HOOK_MARKERS = [/sendPattern/, /\.ringmesh\s*=/];

/** Every JavaScript file of a build, as one text. */
function builtJs(dir: string): string {
  const files = readdirSync(join(dir, 'assets')).filter((f) => f.endsWith('.js'));
  expect(files.length).toBeGreaterThan(0);
  return files.map((f) => readFileSync(join(dir, 'assets', f), 'utf8')).join('\n');
}

beforeAll(() => {
  ensureWebBuild();
  ensureTestWebBuild();
});

describe('the page build', () => {
  it('the shipped build (dist/web) has no debug hook', () => {
    const js = builtJs(WEB_DIR);
    for (const marker of HOOK_MARKERS) expect(js).not.toMatch(marker);
  });

  it('the test build (dist/web-test) has it', () => {
    const js = builtJs(TEST_WEB_DIR);
    for (const marker of HOOK_MARKERS) expect(js).toMatch(marker);
  });
});
