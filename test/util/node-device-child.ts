// Child process for test/integration/engine/node-webgpu.test.ts: runs runDeviceChain on
// OrtNodeEngine with the device given and CPU fallback disabled, prints {providers, logits} as JSON.
// A child, because the Vulkan driver (SwiftShader) is chosen by environment variables read when
// onnxruntime-node loads Dawn.
//   node --import tsx test/util/node-device-child.ts <model-dir> <cpu|cuda|webgpu>
import { OrtNodeEngine, type NodeDevice } from '../../node-peer/engine/ort-node-engine.ts';
import { runDeviceChain } from './node-device-chain.ts';

const [modelDir, device] = process.argv.slice(2) as [string, NodeDevice];
const engine = new OrtNodeEngine({ device, strictDevice: true, threads: 1 });
try {
  const logits = await runDeviceChain(engine, modelDir);
  process.stdout.write(`${JSON.stringify({ providers: engine.providers, logits })}\n`);
} finally {
  await engine.dispose();
}
