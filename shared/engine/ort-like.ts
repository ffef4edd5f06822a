/**
 * The part of the onnxruntime-common API a stage uses. onnxruntime-node and onnxruntime-web both
 * satisfy it; engines adapt their runtime to these types, so the stage logic lives in shared/.
 */
export interface OrtTensorLike {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
  /** Frees GPU-side data (WebGPU); absent or a no-op for CPU tensors. */
  dispose?(): void;
}

export interface OrtSessionLike {
  run(feeds: Record<string, OrtTensorLike>): Promise<Record<string, OrtTensorLike>>;
  release(): Promise<void>;
}

export type CreateOrtTensor = {
  (type: 'float32', data: Float32Array, dims: readonly number[]): OrtTensorLike;
  (type: 'int32', data: Int32Array, dims: readonly number[]): OrtTensorLike;
  /** fp16 bit patterns (fp16 KV caches, build-stage-graph.ts `KvDtype`). */
  (type: 'float16', data: Uint16Array, dims: readonly number[]): OrtTensorLike;
};
