import { defineConfig } from 'vite';

// The web peer page; `signaling/` serves dist/web at / on the same origin as /signal.
export default defineConfig({
  root: 'web-peer',
  build: { outDir: '../dist/web', emptyOutDir: true, target: 'es2022' },
  worker: { format: 'es' },
});
