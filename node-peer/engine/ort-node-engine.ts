import { link, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Engine, Stage, StageSpec } from '../../shared/engine/engine.ts';
import { EngineRuntimeError, StageInputError } from '../../shared/engine/errors.ts';
import type { CreateOrtTensor, OrtSessionLike } from '../../shared/engine/ort-like.ts';
import { OrtStage, warmUpStage } from '../../shared/engine/ort-stage.ts';
import { fullGc } from './full-gc.ts';
import { releaseFreedHeap } from './malloc-trim.ts';
import { buildStageGraph, kvElementBytes, type KvCacheMode, type KvDtype } from '../../shared/graph/build-stage-graph.ts';

export interface OrtNodeEngineOptions {
  /**
   * MatMulNBits accuracy_level of q8/q4 stages. 4 (default): the CPU kernel rounds activations to
   * int8 per block and uses int8 dot products (3-7× faster than fp32 math here; docs/engines.md).
   * 0: fp32 math on the dequantized weights — exact, but q8 falls back to dequantizing every run.
   */
  readonly quantAccuracy?: number;
  /**
   * Right after each stage loads, run a full GC (freeing the unit bytes it was given) and hand the
   * free pages of the C heap back to the OS (malloc-trim.ts) (default true).
   */
  readonly collectAfterLoad?: boolean;
  /**
   * 'cuda' asks for the CUDA execution provider, 'webgpu' for ORT's WebGPU provider (Dawn; on a
   * GPU-less machine SwiftShader, which checks the graph's WebGPU path without a browser). A
   * provider that cannot start (no CUDA library, no adapter) fails `loadStage`: never a silent CPU run.
   */
  readonly device?: NodeDevice;
  /**
   * Refuse to place any node on the CPU provider (ORT's `session.disable_cpu_ep_fallback`): every
   * node must run on `device`, or `loadStage` fails. Default: on for 'webgpu' (every node of a
   * stage graph has a WebGPU kernel), off for 'cuda', where ORT itself puts small shape
   * computations on the CPU on purpose and refusing that would refuse working graphs.
   */
  readonly strictDevice?: boolean;
  /** Default intra-op threads per session. */
  readonly threads?: number;
  /**
   * How the KV cache crosses the graph boundary (shared/graph/build-stage-graph.ts). Default
   * 'append': outputs come back to JS memory on every device here, so only each run's new rows
   * are taken out of ORT, never the whole cache per token. 'present' is the WebGPU-style graph.
   */
  readonly kvCache?: KvCacheMode;
  /**
   * Element type of the KV cache each session keeps (`--kv-dtype`). 'fp32' (default); 'fp16' halves
   * the cache's memory, the attention math staying fp32 (build-stage-graph.ts `KvDtype`, docs/engines.md).
   */
  readonly kvDtype?: KvDtype;
}

/** The devices onnxruntime-node runs a stage on here. */
export type NodeDevice = 'cpu' | 'cuda' | 'webgpu';

const createTensor = ((type: 'float32' | 'int32' | 'float16', data: Float32Array | Int32Array | Uint16Array, dims: readonly number[]) =>
  new ort.Tensor(type, data, dims)) as CreateOrtTensor;

/**
 * Puts a unit file next to the model: a hard link to the package's file when there is one on the
 * same file system (no copy; ORT refuses symlinks that leave the model's folder), else the bytes.
 */
/**
 * The session behind the OrtStage interface. Built out here on purpose: a closure made inside
 * loadStage would keep loadStage's whole scope alive for the stage's life — `spec` with every unit's
 * bytes included (V8 gives all closures of a function one shared context).
 */
function sessionAdapter(session: ort.InferenceSession): OrtSessionLike {
  return {
    run: (feeds) => session.run(feeds as ort.InferenceSession.FeedsType),
    release: () => session.release(),
  };
}

async function placeUnit(target: string, bytes: Uint8Array, source: string | undefined): Promise<void> {
  if (source !== undefined) {
    const linked = await link(source, target).then(
      () => true,
      () => false, // another file system or no permission: fall back to writing the bytes
    );
    if (linked) return;
  }
  await writeFile(target, bytes);
}

/**
 * Engine on onnxruntime-node. ORT reads external weights from files next to the model, so each
 * stage puts its graph and unit files (hard-linked or written) into a private temp folder, opens
 * the session from there and deletes the folder (ORT has loaded or mapped the bytes by then).
 */
export class OrtNodeEngine implements Engine {
  readonly kind: NodeDevice;
  /**
   * The execution providers every session gets, in ORT's order of preference: the device alone when
   * strict, else the device then 'cpu' for the nodes it lacks. ORT fails session creation when a
   * listed provider cannot start, so the first entry is the provider that runs the stage.
   */
  readonly providers: readonly NodeDevice[];
  readonly kvBytesPerElement: number;
  private readonly strict: boolean;
  private readonly stages = new Set<Stage>();

  constructor(private readonly options: OrtNodeEngineOptions = {}) {
    this.kind = options.device ?? 'cpu';
    this.strict = this.kind !== 'cpu' && (options.strictDevice ?? this.kind === 'webgpu');
    this.providers = this.kind === 'cpu' || this.strict ? [this.kind] : [this.kind, 'cpu'];
    this.kvBytesPerElement = kvElementBytes(options.kvDtype ?? 'fp32');
  }

  async loadStage(spec: StageSpec): Promise<Stage> {
    const graph = buildStageGraph(spec.manifest, spec.range, {
      kvCache: this.options.kvCache ?? 'append',
      kvDtype: this.options.kvDtype ?? 'fp32',
      ...(this.options.quantAccuracy === undefined ? {} : { quantAccuracy: this.options.quantAccuracy }),
    });
    const label = `[${spec.range.start}, ${spec.range.end})`;
    const dir = await mkdtemp(join(tmpdir(), 'ringmesh-stage-'));
    let session: ort.InferenceSession;
    try {
      const written = new Set<string>();
      for (const w of graph.weights) {
        if (written.has(w.file)) continue;
        const bytes = spec.units.get(w.unit);
        if (bytes === undefined) throw new StageInputError(label, `unit ${w.unit} was not provided`);
        await placeUnit(join(dir, w.file), bytes, spec.unitFiles?.get(w.unit));
        written.add(w.file);
      }
      await writeFile(join(dir, 'model.onnx'), graph.model);
      // ORT reads the files: the bytes in JS go now, not after the session (the load's peak).
      if (spec.releaseUnits !== undefined) {
        spec.releaseUnits();
        if (this.options.collectAfterLoad ?? true) fullGc();
      }
      const threads = spec.threads ?? this.options.threads;
      session = await ort.InferenceSession.create(join(dir, 'model.onnx'), {
        executionProviders: [...this.providers],
        graphOptimizationLevel: 'all',
        ...(threads === undefined ? {} : { intraOpNumThreads: threads }),
        interOpNumThreads: 1,
        // ORT's CPU arena cost each run of a small stage ~0.2 ms (malloc is cheaper for the few
        // buffers a decode step needs): a 4-way split ran 4% behind one session without it, 6%
        // with it, and the unsplit decode got no slower (bench/engine.ts, A/B in one hour).
        enableCpuMemArena: false,
        // Spinning threads of several sessions on few cores starve each other (docs/engines.md).
        extra: {
          session: {
            intra_op: { allow_spinning: '0' },
            inter_op: { allow_spinning: '0' },
            // MLAS's pre-packed weights made decode (one row per run) slower, most in small stage
            // graphs: 4 sessions ran 8% behind one, 4.5% without (bench/engine.ts).
            // Not for q8/q4 stages: MatMulNBits packs its weights for MLAS's n-bit GEMM only when
            // prepacking is on; without it every run dequantized every matrix (~160× slower).
            ...(graph.weights.some((w) => spec.manifest.tensors.some((t) => t.name === w.tensor && (t.dtype === 'q8' || t.dtype === 'q4')))
              ? {}
              : { disable_prepacking: '1' }),
            // strictDevice: a node without a kernel on the device fails the load, not runs on the CPU.
            ...(this.strict ? { disable_cpu_ep_fallback: '1' } : {}),
          },
        },
      });
    } catch (err) {
      if (err instanceof StageInputError) throw err;
      throw new EngineRuntimeError(label, 'onnxruntime-node could not create the session', { cause: err });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const stage = new OrtStage(spec.range, spec.manifest, graph, sessionAdapter(session), createTensor);
    await warmUpStage(stage, spec.manifest);
    this.stages.add(stage);
    // After the caller has dropped the unit bytes (its load finishes in this same turn): release them.
    // Needed after releaseUnits too: skipping it left the 1B classifier-end peer at 1167 MiB, not ~910.
    if (this.options.collectAfterLoad ?? true)
      setImmediate(() => {
        fullGc();
        releaseFreedHeap(); // the load's freed temporaries: 40–60 MiB of a 1B q4 peer stayed resident
      });
    return stage;
  }

  async dispose(): Promise<void> {
    for (const s of this.stages) await s.dispose();
    this.stages.clear();
  }
}
