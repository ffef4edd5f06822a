import wabtInit from 'wabt';

/** kernels.wat as two binaries: importing a plain memory, and (threads) a shared one. */
export async function assembleKernels(wat: string): Promise<{ plain: Uint8Array; shared: Uint8Array }> {
  const wabt = await wabtInit();
  const assemble = (text: string): Uint8Array => {
    const mod = wabt.parseWat('kernels.wat', text, { simd: true, threads: true });
    try {
      const bytes = Uint8Array.from(mod.toBinary({}).buffer);
      // wabt's own validator rejects shared memories whatever its features; the engine's is the judge.
      if (!WebAssembly.validate(bytes)) throw new Error('kernels.wat does not assemble to a valid WebAssembly module');
      return bytes;
    } finally {
      mod.destroy();
    }
  };
  const memory = '(import "env" "memory" (memory 1 65536))';
  if (!wat.includes(memory)) throw new Error(`kernels.wat must import its memory as ${memory}`);
  return { plain: assemble(wat), shared: assemble(wat.replace(memory, '(import "env" "memory" (memory 1 65536 shared))')) };
}
