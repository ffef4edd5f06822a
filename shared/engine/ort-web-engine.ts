import type * as OrtWeb from 'onnxruntime-web';
import type { Engine, EngineKind, Stage, StageSpec } from './engine.ts';
import { EngineRuntimeError, StageInputError, UnsupportedKvDtypeError } from './errors.ts';
import type { CreateOrtTensor, OrtSessionLike } from './ort-like.ts';
import { OrtStage, warmUpStage } from './ort-stage.ts';
import { createSerialQueue } from './serial-queue.ts';
import { buildStageGraph, type KvDtype } from '../graph/build-stage-graph.ts';
import { StageIo } from '../graph/stage-io.ts';
import { dequantizeStageUnits } from './dequantize-stage-units.ts';

export interface OrtWebEngineOptions {
  /** 'auto' (default): WebGPU when an adapter exists, else WASM. */
  readonly backend?: 'auto' | 'webgpu' | 'wasm';
  /** WASM threads (ort.env.wasm.numThreads), set once per page/process before the first session. */
  readonly threads?: number;
  /**
   * The onnxruntime-web module. Default: `import('onnxruntime-web')`, which in Node resolves to
   * its Node build that loads the .wasm files from node_modules/onnxruntime-web/dist by itself.
   */
  readonly ort?: typeof OrtWeb;
  /**
   * How q8/q4 linear weights run on WASM. 'quantized' (default): MatMulNBits on the stored bytes.
   * 'fp32': widened to fp32 once at load (dequantize-stage-units.ts) — WASM has no n-bit GEMM
   * kernel, so this runs ~fp32 speed instead of dequantizing every matrix on every run, for 4
   * bytes per weight in the WASM heap (4 GiB at most). Ignored on WebGPU.
   */
  readonly linearWeights?: 'quantized' | 'fp32';
  /**
   * WASM, quantized linear weights: the largest fp32 matrix one MatMulNBits widens per run (bytes);
   * larger linears run in slices of output rows. Default WASM_QUANT_CHUNK_BYTES; Infinity: unsliced.
   */
  readonly quantChunkBytes?: number;
  /** Only 'fp32' (the default): fp16 KV caches are a Node engine option; 'fp16' here throws UnsupportedKvDtypeError. */
  readonly kvDtype?: KvDtype;
}

/**
 * WASM's largest widened matrix per MatMulNBits (LlamaBlocks' quantChunkBytes). onnxruntime-web's
 * WASM build has no n-bit GEMM: each run dequantizes the node's whole matrix into a temporary that
 * its arena then keeps, and the WASM heap never shrinks. On the 1B shape (docs/engines.md) the q8
 * classifier alone widened to 1 GiB: a stage of one layer and the classifier held 1659 MiB, 714
 * sliced at 8 MiB (decode 901 → 546 ms a step); two q4 layers 501–556 → 433 MiB. 8 MiB decoded
 * fastest of 8, 16 and 32 (the slice is read back while still in cache).
 */
export const WASM_QUANT_CHUNK_BYTES = 8 * 1024 * 1024;

interface GpuNavigator {
  readonly gpu?: { requestAdapter(): Promise<unknown> };
}

async function hasWebGpuAdapter(): Promise<boolean> {
  const nav = (globalThis as { navigator?: GpuNavigator }).navigator;
  if (nav?.gpu === undefined) return false;
  try {
    return (await nav.gpu.requestAdapter()) !== null;
  } catch {
    return false; // no adapter is an ordinary outcome here, not an error: fall back to WASM
  }
}

function kvOnGpu(layers: readonly number[]): Record<string, 'gpu-buffer'> {
  const out: Record<string, 'gpu-buffer'> = {};
  for (const i of layers) {
    out[StageIo.presentKey(i)] = 'gpu-buffer';
    out[StageIo.presentValue(i)] = 'gpu-buffer';
  }
  return out;
}

/**
 * The stage's session and tensor factory behind the OrtStage interfaces. Built out here on purpose:
 * a closure made inside loadStage shares one V8 context with every other closure made there — the
 * one creating the session captures the unit bytes (`externalData`) — so the stage would keep its
 * share of the model in JS memory for its whole life, beside the copy in the WASM heap or on the GPU.
 */
function sessionAdapter(session: OrtWeb.InferenceSession): OrtSessionLike {
  return {
    run: (feeds) => session.run(feeds as OrtWeb.InferenceSession.FeedsType),
    release: () => session.release(),
  };
}

function tensorFactory(ort: typeof OrtWeb): CreateOrtTensor {
  return ((type: 'float32' | 'int32' | 'float16', data: Float32Array | Int32Array | Uint16Array, dims: readonly number[]) =>
    new ort.Tensor(type, data, dims)) as CreateOrtTensor;
}

/**
 * Engine on onnxruntime-web. Weights are handed to ORT as external data mounted under their unit
 * file names (`externalData: [{ path, data }]`), so the unit bytes are used as they are.
 */
export class OrtWebEngine implements Engine {
  kind: EngineKind = 'wasm';
  private ort: typeof OrtWeb | undefined;
  private readonly stages = new Set<Stage>();
  // onnxruntime-web corrupts its state when two sessions run at once (one WASM instance): all
  // stages of this engine share one queue.
  private readonly serial = createSerialQueue();

  constructor(private readonly options: OrtWebEngineOptions = {}) {
    if ((options.kvDtype ?? 'fp32') !== 'fp32') throw new UnsupportedKvDtypeError('onnxruntime-web', String(options.kvDtype));
  }

  private async runtime(): Promise<typeof OrtWeb> {
    if (this.ort !== undefined) return this.ort;
    const ort = this.options.ort ?? (await import('onnxruntime-web'));
    const backend = this.options.backend ?? 'auto';
    this.kind = backend === 'webgpu' || (backend === 'auto' && (await hasWebGpuAdapter())) ? 'webgpu' : 'wasm';
    if (this.options.threads !== undefined) ort.env.wasm.numThreads = this.options.threads;
    this.ort = ort;
    return ort;
  }

  /** The backend stages will run on ('webgpu' when an adapter exists under 'auto', else 'wasm'). */
  async backend(): Promise<EngineKind> {
    await this.runtime();
    return this.kind;
  }

  async loadStage(spec: StageSpec): Promise<Stage> {
    const ort = await this.runtime();
    if (this.kind === 'wasm' && this.options.linearWeights === 'fp32') spec = { ...spec, ...dequantizeStageUnits(spec.manifest, spec.units) };
    // WebGPU keeps whole caches on the GPU between runs; WASM copies outputs out of its heap, so
    // there only each run's new rows come out and the cache is kept on the JS side.
    const graph = buildStageGraph(spec.manifest, spec.range, {
      kvCache: this.kind === 'webgpu' ? 'present' : 'append',
      // WASM's MatMulNBits widens its whole matrix on every run: bound that temporary.
      ...(this.kind === 'wasm' ? { quantChunkBytes: this.options.quantChunkBytes ?? WASM_QUANT_CHUNK_BYTES } : {}),
    });
    const label = `[${spec.range.start}, ${spec.range.end})`;
    const externalData: { path: string; data: Uint8Array }[] = [];
    for (const w of graph.weights) {
      if (externalData.some((e) => e.path === w.file)) continue;
      const data = spec.units.get(w.unit);
      if (data === undefined) throw new StageInputError(label, `unit ${w.unit} was not provided`);
      externalData.push({ path: w.file, data });
    }
    let session: OrtWeb.InferenceSession;
    try {
      session = await this.serial(() =>
        ort.InferenceSession.create(graph.model, {
          executionProviders: [this.kind],
          graphOptimizationLevel: 'all',
          externalData,
          // On WebGPU the KV caches stay on the GPU between runs (fed back as they are).
          ...(this.kind === 'webgpu' ? { preferredOutputLocation: kvOnGpu(graph.layers) } : {}),
          extra: { session: { intra_op: { allow_spinning: '0' } } },
        }),
      );
    } catch (err) {
      throw new EngineRuntimeError(label, `onnxruntime-web (${this.kind}) could not create the session`, { cause: err });
    }
    // ORT has copied the unit bytes into the WASM heap or onto the GPU: the caller may drop its own.
    externalData.length = 0;
    spec.releaseUnits?.();
    const stage = new OrtStage(spec.range, spec.manifest, graph, sessionAdapter(session), tensorFactory(ort), this.serial);
    await warmUpStage(stage, spec.manifest);
    this.stages.add(stage);
    return stage;
  }

  async dispose(): Promise<void> {
    for (const s of this.stages) await s.dispose();
    this.stages.clear();
  }
}
