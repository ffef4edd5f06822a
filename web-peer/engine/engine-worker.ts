// Worker entry (`new Worker(new URL('./engine-worker.ts', import.meta.url), { type: 'module' })`):
// serves the page's engine to a WorkerEngine on the page: onnxruntime-web (WebGPU when an adapter
// exists, else WASM), with q8/q4 stages on WASM run by the kernel engine (PageEngine).
import type { MessagePortLike } from './engine-messages.ts';
import { OrtWebEngine } from '../../shared/engine/ort-web-engine.ts';
import { KernelEngine } from '../../shared/engine/kernel/kernel-engine.ts';
import { PageEngine } from '../../shared/engine/kernel/page-engine.ts';
import { serveEngine } from './serve-engine.ts';

serveEngine(self as unknown as MessagePortLike, new PageEngine(new OrtWebEngine(), new KernelEngine()));
