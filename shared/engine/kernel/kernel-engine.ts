import { InvalidLayerRangeError } from '../../graph/errors.ts';
import { ropeInverseFrequencies } from '../../graph/rope.ts';
import type { ModelManifest } from '../../model/manifest.ts';
import type { LayerRange } from '../../model/layer-range.ts';
import { isQuantDType } from '../../model/quant-blocks.ts';
import type { Engine, EngineKind, Stage, StageSpec } from '../engine.ts';
import { StageInputError } from '../errors.ts';
import { warmUpStage } from '../ort-stage.ts';
import { createSerialQueue } from '../serial-queue.ts';
import { KernelHeap } from './kernel-heap.ts';
import type { KernelThreadSpawner } from './kernel-threads.ts';
import { KernelStage } from './kernel-stage.ts';
import { loadKernelWeights } from './kernel-weights.ts';

/**
 * The WASM kernel engine (docs/engines.md, "The WASM kernel engine"): q8/q4 stages on ringmesh's
 * own WebAssembly SIMD kernels (kernels.wat), for a CPU without WebGPU — in a browser tab, or in
 * Node for `generate --engine kernel` and the bench. onnxruntime-web's WASM build has no n-bit
 * GEMM, so there a q8/q4 linear is either widened on every run (MatMulNBits) or once at load
 * (4 bytes per weight); here the weights stay at their stored size (q4: ~0.56 byte per weight)
 * and each block is an int8 dot product. Stages of fp32/fp16 packages are refused
 * (UnsupportedKernelWeightsError): `kernelRunsStage` tells a caller beforehand.
 */
export interface KernelEngineOptions {
  /**
   * Threads per stage for the matrix-vector products. Default: StageSpec.threads, else 1. More
   * than 1 needs `spawner` and a shared WebAssembly memory (Node; a cross-origin-isolated page),
   * and falls back to one thread without them.
   */
  readonly threads?: number;
  readonly spawner?: KernelThreadSpawner;
}

export class KernelEngine implements Engine {
  readonly kind: EngineKind = 'wasm';
  private readonly stages = new Set<Stage>();
  // One stage runs at a time: the engine's thread does all the work, interleaving buys nothing.
  private readonly serial = createSerialQueue();

  constructor(private readonly options: KernelEngineOptions = {}) {}

  async loadStage(spec: StageSpec): Promise<Stage> {
    const a = spec.manifest.architecture;
    const { start, end } = spec.range;
    if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start < end && end <= a.numLayers)) {
      throw new InvalidLayerRangeError(start, end, a.numLayers);
    }
    // The attention kernels step through a head 4 floats at a time.
    if (a.headDim % 4 !== 0)
      throw new StageInputError(`[${start}, ${end})`, `head dimension ${a.headDim} is not a multiple of 4, which the kernel engine needs`);
    const threads = this.options.threads ?? spec.threads ?? 1;
    const heap = new KernelHeap({ threads, ...(this.options.spawner === undefined ? {} : { spawner: this.options.spawner }) });
    const widest = Math.max(a.hiddenSize, a.intermediateSize, a.numHeads * a.headDim);
    let stage: KernelStage;
    try {
      heap.reserve(widest, Math.max(widest, end === a.numLayers ? a.vocabSize : 0));
      const weights = loadKernelWeights(spec.manifest, spec.range, spec.units, heap);
      spec.releaseUnits?.();
      stage = new KernelStage(spec.range, spec.manifest, weights, heap, ropeInverseFrequencies(a, spec.manifest.name), this.serial);
    } catch (err) {
      heap.close(); // its helper threads, if any
      throw err;
    }
    try {
      await warmUpStage(stage, spec.manifest);
    } catch (err) {
      await stage.dispose();
      throw err;
    }
    this.stages.add(stage);
    return stage;
  }

  async dispose(): Promise<void> {
    for (const s of this.stages) await s.dispose();
    this.stages.clear();
  }
}

/** Whether every linear weight of the range is q8/q4, which is what the kernel engine runs. */
export function kernelRunsStage(manifest: ModelManifest, range: LayerRange): boolean {
  const a = manifest.architecture;
  const linear = /^layers\.(\d+)\.(q|k|v|o|gate|up|down)\.weight$/;
  return manifest.tensors.every((t) => {
    const m = linear.exec(t.name);
    if (m !== null) {
      const layer = Number(m[1]);
      return layer < range.start || layer >= range.end || isQuantDType(t.dtype);
    }
    return t.name !== 'lm_head.weight' || range.end < a.numLayers || isQuantDType(t.dtype);
  });
}
