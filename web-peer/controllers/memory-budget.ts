// The memory budget a tab offers the planner by default (docs/web-page.md, "Memory budget").
// Pure: main.ts reads the adapter's limits and navigator.deviceMemory and passes them in.

const MiB = 2 ** 20;
const GiB = 2 ** 30;
/** wasm32's whole address space; onnxruntime-web's heap cannot grow past it. */
export const WASM_HEAP_LIMIT = 4 * GiB;
/** The budget input's step: the default is rounded down to it. */
const STEP = 16 * MiB;

export interface BudgetInputs {
  /** The WebGPU adapter's limits, when WebGPU gave an adapter. */
  readonly gpu?: { readonly maxBufferSize: number; readonly maxStorageBufferBindingSize: number };
  /** `navigator.deviceMemory` (GiB, rounded by the browser), when the browser tells. */
  readonly deviceMemoryGiB?: number;
}

export interface DefaultBudget {
  readonly bytes: number;
  /** Which limit decided, for the page to say. */
  readonly source: 'webgpu' | 'wasm' | 'device-memory';
}

const positive = (n: number | undefined): n is number => n !== undefined && Number.isFinite(n) && n > 0;

/**
 * WebGPU: the smaller of the adapter's `maxBufferSize` and `maxStorageBufferBindingSize` (the
 * largest buffer a shader can bind; an adapter that allows big buffers has memory to back them).
 * WASM: three quarters of the 4 GiB heap (the rest for the runtime, activations and load-time
 * copies). Either way capped at half of `deviceMemory` when the browser tells it (the OS and
 * the browser keep the other half), rounded down to 16 MiB, at least 16 MiB.
 */
export function defaultMemoryBudget(inputs: BudgetInputs): DefaultBudget {
  const g = inputs.gpu;
  const gpuBytes =
    g && positive(g.maxBufferSize) && positive(g.maxStorageBufferBindingSize) ? Math.min(g.maxBufferSize, g.maxStorageBufferBindingSize) : undefined;
  let bytes = gpuBytes ?? (WASM_HEAP_LIMIT * 3) / 4;
  let source: DefaultBudget['source'] = gpuBytes === undefined ? 'wasm' : 'webgpu';
  if (positive(inputs.deviceMemoryGiB) && (inputs.deviceMemoryGiB * GiB) / 2 < bytes) {
    bytes = (inputs.deviceMemoryGiB * GiB) / 2;
    source = 'device-memory';
  }
  return { bytes: Math.max(STEP, Math.floor(bytes / STEP) * STEP), source };
}
