// Whether onnxruntime-node can run on a GPU device here (docs/engines.md, "Devices on Node peers"):
// the provider compiled into the binding, its library installed (CUDA), and a one-node session that
// builds and runs on that provider alone. ORT fails session creation when a provider cannot start
// (no CUDA library or driver, no WebGPU adapter), so a run that succeeds proves the device works.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../../shared/onnx/graph-builder.ts';
import { encodeOnnxModel, OnnxDataType } from '../../shared/onnx/onnx-model.ts';

export type GpuDevice = 'cuda' | 'webgpu';

export type DeviceCheck = { readonly available: true } | { readonly available: false; readonly reason: string };

/** The CUDA provider libraries onnxruntime-node's install script downloads (not in the npm package). */
export const CUDA_PROVIDER_FILES = ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'] as const;

/** Where onnxruntime-node keeps its native binding and provider libraries for this platform. */
export function ortBinaryDir(): string {
  const pkg = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
  return join(dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
}

/** y = x + x on 4 floats: every provider has a kernel for it. */
function probeModel(): Uint8Array {
  const g = new GraphBuilder('device-probe');
  const x = g.input('x', OnnxDataType.FLOAT, [4]);
  g.output('y', g.op('Add', [x, x]), OnnxDataType.FLOAT, [4]);
  return encodeOnnxModel(g.build([{ domain: '', version: 17 }]));
}

const firstLine = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0]?.trim() ?? '';

/** Builds and runs the probe graph on `device` with CPU fallback disabled. */
async function runOn(device: GpuDevice): Promise<DeviceCheck> {
  let session: ort.InferenceSession | undefined;
  try {
    session = await ort.InferenceSession.create(probeModel(), {
      executionProviders: [device],
      logSeverityLevel: 3,
      extra: { session: { disable_cpu_ep_fallback: '1' } },
    });
    const out = await session.run({ x: new ort.Tensor('float32', new Float32Array([1, 2, 3, 4]), [4]) });
    const y = out['y']?.data;
    if (!(y instanceof Float32Array) || y[3] !== 8) return { available: false, reason: `a test graph on ${device} returned a wrong result` };
    return { available: true };
  } catch (err) {
    return { available: false, reason: `onnxruntime-node could not run a test graph on it: ${firstLine(err)}` };
  } finally {
    await session?.release();
  }
}

/**
 * Checks one GPU device: `listSupportedBackends()` must name it; CUDA also needs the provider
 * libraries next to the binding (checked first, so a CPU-only install never makes ORT log a failed
 * library load); then the probe graph must run on the device alone.
 */
export async function probeDevice(device: GpuDevice): Promise<DeviceCheck> {
  const backend = ort.listSupportedBackends().find((b) => b.name === device);
  if (backend === undefined)
    return { available: false, reason: `this onnxruntime-node build (${process.platform}/${process.arch}) has no ${device} execution provider` };
  if (device === 'cuda') {
    const dir = ortBinaryDir();
    const missing = CUDA_PROVIDER_FILES.filter((f) => !existsSync(join(dir, f)));
    if (missing.length > 0) {
      return {
        available: false,
        reason: `the CUDA provider library is not installed (${missing.join(', ')} missing in ${dir}); install it with "ONNXRUNTIME_NODE_INSTALL=1 node node_modules/onnxruntime-node/script/install.js" (README, "GPU servers")`,
      };
    }
  }
  return runOn(device);
}
