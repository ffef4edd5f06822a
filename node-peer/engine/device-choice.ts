// Which device a Node peer's stage runs on (docs/engines.md, "Devices on Node peers"): `auto` takes
// CUDA, else WebGPU, else the CPU; an explicit GPU device must be available or the peer does not start.
import type { NodeDevice } from './ort-node-engine.ts';
import type { DeviceCheck, GpuDevice } from './device-probe.ts';
import { DeviceUnavailableError } from './device-errors.ts';

export type DeviceRequest = 'auto' | NodeDevice;

export const DEVICE_REQUESTS: readonly DeviceRequest[] = ['auto', 'cpu', 'cuda', 'webgpu'];

export interface DeviceChoice {
  readonly device: NodeDevice;
  readonly requested: DeviceRequest;
  /** Why this device: one line for the log (for `auto`, why each better one was passed over). */
  readonly reason: string;
}

/** Probes a GPU device (device-probe.ts `probeDevice`; tests pass canned answers). */
export type ProbeDevice = (device: GpuDevice) => Promise<DeviceCheck>;

/** Resolves a request to a device, probing only what it must (`auto` stops at the first that works). */
export async function chooseDevice(requested: DeviceRequest, probe: ProbeDevice): Promise<DeviceChoice> {
  if (requested === 'cpu') return { device: 'cpu', requested, reason: 'requested' };
  if (requested !== 'auto') {
    const check = await probe(requested);
    if (!check.available) throw new DeviceUnavailableError(requested, check.reason);
    return { device: requested, requested, reason: 'requested; a test graph ran on it' };
  }
  const passed: string[] = [];
  for (const device of ['cuda', 'webgpu'] as const) {
    const check = await probe(device);
    if (check.available) return { device, requested, reason: [...passed, `${device}: a test graph ran on it`].join('; ') };
    passed.push(`no ${device}: ${check.reason}`);
  }
  return { device: 'cpu', requested, reason: passed.join('; ') };
}
