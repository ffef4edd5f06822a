import { chooseDevice, type DeviceRequest } from '../engine/device-choice.ts';
import { probeDevice } from '../engine/device-probe.ts';
import type { NodeDevice } from '../engine/ort-node-engine.ts';
import type { StartReporter } from './start-reporter.ts';

/**
 * `node-peer start --device`: resolves the request (probing onnxruntime-node's providers) and logs
 * the pick and why as a `device` event. Throws DeviceUnavailableError for an explicit GPU device
 * that cannot run here (start-command.ts exits 2, like a bad flag).
 */
export async function resolveStartDevice(requested: DeviceRequest, report: StartReporter): Promise<NodeDevice> {
  const choice = await chooseDevice(requested, probeDevice);
  report.event('device', { device: choice.device, requested: choice.requested, reason: choice.reason });
  return choice.device;
}
