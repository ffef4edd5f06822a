import { RingmeshError } from '../../errors.ts';

/** A stage's weights and caches would not fit the kernel engine's 32-bit WebAssembly memory. */
export class KernelMemoryError extends RingmeshError {
  constructor(
    readonly bytes: number,
    options?: { cause?: unknown },
  ) {
    super(
      `the kernel engine needs ${(bytes / 2 ** 20).toFixed(0)} MiB of WebAssembly memory, more than this runtime grants (at most 4 GiB): load fewer layers here`,
      options,
    );
  }
}

/** The kernel engine runs q8/q4 linear weights only; a stage stored otherwise goes to ONNX Runtime. */
export class UnsupportedKernelWeightsError extends RingmeshError {
  constructor(
    readonly tensor: string,
    readonly dtype: string,
  ) {
    super(`${tensor} is stored ${dtype}: the kernel engine runs q8/q4 linear weights only (an fp32/fp16 package runs on the ONNX Runtime engines)`);
  }
}

/** A kernel helper thread did not finish its share of a product in time (it failed to start or died). */
export class KernelThreadError extends RingmeshError {
  constructor(readonly waitedMs: number) {
    super(`a kernel helper thread did not answer within ${waitedMs} ms; the stage's threads were stopped`);
  }
}
