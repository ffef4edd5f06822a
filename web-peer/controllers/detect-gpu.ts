import type { Detection } from '../state/app-state.ts';

interface GpuAdapterInfo {
  readonly vendor?: string;
  readonly architecture?: string;
  readonly description?: string;
  readonly device?: string;
}
interface GpuLike {
  requestAdapter(): Promise<{
    info?: GpuAdapterInfo;
    isFallbackAdapter?: boolean;
    limits?: { maxBufferSize?: number; maxStorageBufferBindingSize?: number };
  } | null>;
}

/** WebGPU when the browser gives an adapter (its name and buffer limits), else WASM with the reason. */
export async function detectGpu(nav: object = navigator): Promise<Detection> {
  const gpu = (nav as { gpu?: GpuLike }).gpu;
  if (gpu === undefined) return { state: 'wasm', reason: 'this browser has no WebGPU' };
  try {
    const adapter = await gpu.requestAdapter();
    if (adapter === null) return { state: 'wasm', reason: 'WebGPU is present but gave no adapter' };
    const i = adapter.info ?? {};
    const name = [i.vendor, i.architecture, i.description || i.device].filter((s) => s !== undefined && s !== '').join(' ') || 'WebGPU adapter';
    const l = adapter.limits;
    const limits =
      l?.maxBufferSize !== undefined && l.maxStorageBufferBindingSize !== undefined
        ? { maxBufferSize: l.maxBufferSize, maxStorageBufferBindingSize: l.maxStorageBufferBindingSize }
        : undefined;
    return { state: 'webgpu', adapter: adapter.isFallbackAdapter === true ? `${name} (software fallback)` : name, ...(limits === undefined ? {} : { limits }) };
  } catch (err) {
    // No adapter is an ordinary outcome: the page runs the model on WASM instead.
    return { state: 'wasm', reason: `WebGPU failed: ${(err as Error).message}` };
  }
}
