// `npm run build:node`: node-peer and its pure-JS dependencies in one ESM file,
// dist/node-peer/main.mjs, which bin/node-peer.js runs while it is fresh (bin/node-peer-bundle.js).
// Why the dependencies too: a swarm starts many peers on one machine at once, and Node's module
// loader resolving and compiling undici, zod, ws, commander and simple-peer file by file cost each
// peer ~110 ms of its ~340 ms start-up CPU (docs/pieces.md). Kept external: native addons and the
// onnxruntime packages, which load binaries or .wasm files relative to their own directory and
// share one onnxruntime-common backend registry.
import { build } from 'esbuild';

await build({
  entryPoints: ['node-peer/main.ts'],
  outfile: 'dist/node-peer/main.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['node-datachannel', 'onnxruntime-node', 'onnxruntime-web', 'onnxruntime-common'],
  // CommonJS dependencies call require() for Node built-ins; an ES module has none of its own.
  banner: { js: "import { createRequire as __ringmeshCreateRequire } from 'node:module'; const require = __ringmeshCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
