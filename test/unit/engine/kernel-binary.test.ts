import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KERNELS_WASM, KERNELS_WASM_SHARED } from '../../../shared/engine/kernel/kernels-wasm.ts';
import { assembleKernels } from '../../../scripts/assemble-kernels.ts';

// kernels-wasm.ts is generated from kernels.wat (`npm run build:kernels`): this fails when one was
// changed without the other, so the committed module is always the reviewed source.
describe('kernels-wasm.ts', () => {
  it('holds exactly what kernels.wat assembles to, memory plain and shared', async () => {
    const wat = readFileSync(new URL('../../../shared/engine/kernel/kernels.wat', import.meta.url), 'utf8');
    const { plain, shared } = await assembleKernels(wat);
    expect(Buffer.from(KERNELS_WASM, 'base64')).toEqual(Buffer.from(plain));
    expect(Buffer.from(KERNELS_WASM_SHARED, 'base64')).toEqual(Buffer.from(shared));
    expect(shared).not.toEqual(plain);
  });
});
