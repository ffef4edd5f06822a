import { describe, expect, it } from 'vitest';
import { defaultMemoryBudget, WASM_HEAP_LIMIT } from '../../../web-peer/controllers/memory-budget.ts';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

describe('defaultMemoryBudget', () => {
  it('WebGPU: the smaller of maxBufferSize and maxStorageBufferBindingSize', () => {
    expect(defaultMemoryBudget({ gpu: { maxBufferSize: 4 * GiB, maxStorageBufferBindingSize: 2 * GiB } })).toEqual({ bytes: 2 * GiB, source: 'webgpu' });
    expect(defaultMemoryBudget({ gpu: { maxBufferSize: 256 * MiB, maxStorageBufferBindingSize: 1 * GiB } })).toEqual({ bytes: 256 * MiB, source: 'webgpu' });
  });

  it('WASM (no adapter): three quarters of the 4 GiB heap', () => {
    expect(defaultMemoryBudget({})).toEqual({ bytes: (WASM_HEAP_LIMIT * 3) / 4, source: 'wasm' });
    expect(defaultMemoryBudget({}).bytes).toBe(3 * GiB);
  });

  it('deviceMemory caps either at half of it', () => {
    expect(defaultMemoryBudget({ gpu: { maxBufferSize: 4 * GiB, maxStorageBufferBindingSize: 4 * GiB }, deviceMemoryGiB: 4 })).toEqual({
      bytes: 2 * GiB,
      source: 'device-memory',
    });
    expect(defaultMemoryBudget({ deviceMemoryGiB: 2 })).toEqual({ bytes: 1 * GiB, source: 'device-memory' });
    // A cap above the limit changes nothing.
    expect(defaultMemoryBudget({ deviceMemoryGiB: 16 })).toEqual({ bytes: 3 * GiB, source: 'wasm' });
    expect(defaultMemoryBudget({ gpu: { maxBufferSize: GiB, maxStorageBufferBindingSize: GiB }, deviceMemoryGiB: 8 })).toEqual({
      bytes: GiB,
      source: 'webgpu',
    });
  });

  it('rounds down to 16 MiB and never goes below it', () => {
    expect(defaultMemoryBudget({ gpu: { maxBufferSize: 300 * MiB + 5, maxStorageBufferBindingSize: 2 * GiB } }).bytes).toBe(288 * MiB);
    expect(defaultMemoryBudget({ deviceMemoryGiB: 0.25 }).bytes).toBe(128 * MiB);
    expect(defaultMemoryBudget({ gpu: { maxBufferSize: MiB, maxStorageBufferBindingSize: MiB } }).bytes).toBe(16 * MiB);
  });

  it('ignores missing or nonsense limits', () => {
    expect(defaultMemoryBudget({ gpu: { maxBufferSize: 0, maxStorageBufferBindingSize: GiB } })).toEqual({ bytes: 3 * GiB, source: 'wasm' });
    expect(defaultMemoryBudget({ gpu: { maxBufferSize: Number.NaN, maxStorageBufferBindingSize: GiB } }).source).toBe('wasm');
    expect(defaultMemoryBudget({ deviceMemoryGiB: -1 })).toEqual({ bytes: 3 * GiB, source: 'wasm' });
  });
});
