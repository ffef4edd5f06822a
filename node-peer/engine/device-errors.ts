import { RingmeshError } from '../../shared/errors.ts';

/** An explicitly requested device (`--device cuda|webgpu`) cannot run here; never a silent CPU fallback. */
export class DeviceUnavailableError extends RingmeshError {
  constructor(
    readonly device: string,
    readonly reason: string,
  ) {
    super(`--device ${device} is not available: ${reason}. Use --device auto (the best available) or --device cpu`);
  }
}
