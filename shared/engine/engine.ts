import type { SessionId } from '../ids.ts';
import type { LayerRange } from '../model/layer-range.ts';
import type { ModelManifest, UnitName } from '../model/manifest.ts';
import type { RunTimingSnapshot } from './run-timing.ts';

/** Where a stage's math runs. */
export type EngineKind = 'cpu' | 'cuda' | 'wasm' | 'webgpu';

export type StageInput =
  /** Token ids; only for a stage with start = 0. */
  | { readonly kind: 'tokens'; readonly ids: Int32Array }
  /** Hidden states [seqLen, hidden] from the previous stage. */
  | { readonly kind: 'hidden'; readonly data: Float32Array; readonly seqLen: number };

export type StageOutput =
  /** Hidden states [seqLen, hidden] for the next stage. */
  | { readonly kind: 'hidden'; readonly data: Float32Array; readonly seqLen: number }
  /**
   * Logits [vocab] of the last input position only; only for a stage with end = numLayers.
   * `logSumExp`: log Σ exp(data), when the engine computed it (so log P(id) = data[id] − logSumExp).
   */
  | { readonly kind: 'logits'; readonly data: Float32Array; readonly logSumExp?: number };

export interface StageSpec {
  readonly manifest: ModelManifest;
  readonly range: LayerRange;
  /** Bytes of every unit in `unitsForRange(range)`, verified by the caller. */
  readonly units: ReadonlyMap<UnitName, Uint8Array>;
  /**
   * Where the same verified unit files lie on disk, when they do (Node): an engine that reads
   * weights from files may hard-link them instead of writing a copy. Optional; `units` is enough.
   */
  readonly unitFiles?: ReadonlyMap<UnitName, string>;
  /** Intra-op threads; default: what the engine thinks best. */
  readonly threads?: number;
  /**
   * Called once the engine no longer needs `units`' bytes (the Node engine: written or linked next
   * to the graph, before the runtime loads them; onnxruntime-web: copied into its heap or onto the
   * GPU): the caller drops its references there, so a large stage's bytes are not held in JS through
   * the runtime's own load, the peak of a peer's memory (docs/engines.md). Optional; the engine
   * never keeps the bytes once `loadStage` resolves either way.
   */
  readonly releaseUnits?: () => void;
}

/**
 * A loaded layer range. Keeps one KV cache per session: each `run` appends its positions to that
 * session's cache (prefill = many tokens at once, decode = one). Runs may be issued concurrently
 * for different sessions (pipelining); a stage queues them. Errors: `StageInputError` (wrong input
 * kind or shape, token id outside the vocabulary), `ContextLengthExceededError`, `EngineRuntimeError`
 * (shared/engine/errors.ts); a failed run leaves the session's cache as it was.
 */
export interface Stage {
  readonly range: LayerRange;
  run(session: SessionId, input: StageInput): Promise<StageOutput>;
  /** Positions already in the session's KV cache (0 for an unknown session). */
  sessionLength(session: SessionId): number;
  freeSession(session: SessionId): void;
  dispose(): Promise<void>;
  /** What its decode runs cost, alone and per packed row (run-timing.ts); absent: not measured. */
  runTiming?(): RunTimingSnapshot;
}

/**
 * Builds the graph for a range (shared/graph/build-stage-graph.ts) and runs it on one backend.
 * Implementations: `OrtNodeEngine` (node-peer/engine), `OrtWebEngine` and the Worker proxy
 * `WorkerEngine` (web-peer/engine). `loadStage` warms the stage up once before returning it;
 * `dispose` disposes every stage the engine loaded.
 */
export interface Engine {
  readonly kind: EngineKind;
  /** Bytes one KV cache element takes in this engine's stages (absent: 4, fp32); the stage budget sizes KV by it. */
  readonly kvBytesPerElement?: number;
  loadStage(spec: StageSpec): Promise<Stage>;
  dispose(): Promise<void>;
}
