import type { Engine, EngineKind, Stage, StageSpec } from '../engine.ts';
import type { OrtWebEngine } from '../ort-web-engine.ts';
import { kernelRunsStage, type KernelEngine } from './kernel-engine.ts';

/**
 * A browser peer's engine (docs/engines.md, "The WASM kernel engine"): onnxruntime-web, except
 * that on WASM (no WebGPU adapter) a stage whose linear weights are all q8/q4 runs on the kernel
 * engine, which keeps them at their stored size and reads them with int8 dot products, where
 * onnxruntime-web's WASM build would widen them. Decided per stage, so an fp32 package still loads.
 */
export class PageEngine implements Engine {
  constructor(
    private readonly ort: OrtWebEngine,
    private readonly kernel: KernelEngine,
  ) {}

  get kind(): EngineKind {
    return this.ort.kind;
  }

  async loadStage(spec: StageSpec): Promise<Stage> {
    if ((await this.ort.backend()) === 'wasm' && kernelRunsStage(spec.manifest, spec.range)) return this.kernel.loadStage(spec);
    return this.ort.loadStage(spec);
  }

  async dispose(): Promise<void> {
    await this.kernel.dispose();
    await this.ort.dispose();
  }
}
