import { defineConfig } from 'vite';

/**
 * The web peer page; `signaling/` serves dist/web at / on the same origin as /signal.
 * `vite build` is the shipped page. `vite build --mode test` builds the page with its test hooks
 * (`window.ringmesh`, the bare lobby: web-peer/debug/test-hooks.ts) into dist/web-test, for the
 * browser transport tests and bench; the dev server has them too (docs/web-page.md, "Test hooks").
 */
export const TEST_MODE = 'test';

export default defineConfig(({ command, mode }) => {
  const testHooks = mode === TEST_MODE || command === 'serve';
  return {
    root: 'web-peer',
    build: { outDir: mode === TEST_MODE ? '../dist/web-test' : '../dist/web', emptyOutDir: true, target: 'es2022' },
    worker: { format: 'es' },
    define: { __RINGMESH_TEST_HOOKS__: JSON.stringify(testHooks) },
  };
});
