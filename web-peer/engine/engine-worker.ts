// Worker entry (`new Worker(new URL('./engine-worker.ts', import.meta.url), { type: 'module' })`):
// serves an OrtWebEngine (WebGPU when an adapter exists, else WASM) to a WorkerEngine on the page.
import type { MessagePortLike } from './engine-messages.ts';
import { OrtWebEngine } from '../../shared/engine/ort-web-engine.ts';
import { serveEngine } from './serve-engine.ts';

serveEngine(self as unknown as MessagePortLike, new OrtWebEngine());
