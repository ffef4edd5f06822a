import { setFlagsFromString } from 'node:v8';

/**
 * Has V8 compile every WebAssembly function with its optimizing compiler (TurboFan) in the
 * background from the start, for onnxruntime-web run inside Node (`generate --engine wasm`, the
 * engine bench). By default V8 runs WASM with its baseline compiler (Liftoff) and re-compiles a
 * function only once it has run hot ("dynamic tiering"): a 110m stage with fp32 weights then
 * decoded its first 40 steps at a median of 31–42 ms a step against 14–15 ms tiered up (docs/engines.md),
 * for ~2 s more CPU at load. Takes effect for modules compiled afterwards: call it before the
 * first session. Browsers decide for themselves (Chrome caches the tiered-up code of a module it
 * fetched, so a returning page starts fast).
 */
export function eagerWasmTierUp(): void {
  setFlagsFromString('--no-wasm-dynamic-tiering');
}
