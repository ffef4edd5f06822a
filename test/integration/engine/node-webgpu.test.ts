// GPU devices on Node peers (docs/engines.md, "Devices on Node peers") without a GPU: onnxruntime-node's
// WebGPU provider on Chromium's SwiftShader Vulkan driver checks the WebGPU path with CPU fallback
// disabled, and `node-peer start --device` picks, reports and refuses devices as documented.
// The Vulkan driver is chosen by environment variables read when ORT loads Dawn, so every WebGPU
// run is a child process given SWIFTSHADER; without them the machine has no WebGPU adapter.
// Real processes; run inside a loopback-only namespace.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoModel } from '../../../node-peer/convert/demo-model.ts';
import { CUDA_PROVIDER_FILES, ortBinaryDir } from '../../../node-peer/engine/device-probe.ts';
import { OrtNodeEngine } from '../../../node-peer/engine/ort-node-engine.ts';
import { asRoomId, type PeerId } from '../../../shared/ids.ts';
import type { WebSocketConstructor } from '../../../shared/signaling/web-socket-like.ts';
import { createSignalingClient } from '../../../shared/signaling/websocket-signaling-client.ts';
import { runDeviceChain } from '../../util/node-device-chain.ts';
import { startPeerProcess } from '../../util/pieces-processes.ts';
import { freePort, startSignalingProcess, type SignalingProcess } from '../../util/signaling-process.ts';
import { makeTempDir } from '../../util/temp-dir.ts';

const SWIFTSHADER = { LD_LIBRARY_PATH: '/usr/lib/chromium', VK_ICD_FILENAMES: '/usr/lib/chromium/vk_swiftshader_icd.json' };
/** The environment with no Vulkan driver named: no WebGPU adapter on a GPU-less machine. */
const { VK_ICD_FILENAMES: _icd, ...NO_ADAPTER } = process.env;
const BIN = join(import.meta.dirname, '../../../bin/node-peer.js');
const CHILD = join(import.meta.dirname, '../../util/node-device-child.ts');
const run = promisify(execFile);
const tmp = makeTempDir('node-webgpu');
let model: string;
let modelId: string;
let modelName: string;
let signaling: SignalingProcess;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const cli = (args: string[], env: NodeJS.ProcessEnv): Promise<Run> =>
  run(process.execPath, [BIN, ...args], { env, timeout: 60_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

/** `start` against a closed port: the device check comes first, then signaling is unreachable (exit 4). */
const startNowhere = async (device: string): Promise<string[]> => [
  'start',
  '--signal',
  `ws://127.0.0.1:${await freePort()}/signal`,
  '--model',
  model,
  '--cache-dir',
  tmp.path('c-nowhere'),
  '--device',
  device,
];

const deviceEvent = (stdout: string): Record<string, unknown> | undefined =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((e) => e['event'] === 'device');

beforeAll(async () => {
  model = tmp.path('demo');
  const written = await writeDemoModel(model, { layers: 4, hidden: 64, heads: 4, kvHeads: 2, vocab: 512, context: 128, seed: 7 });
  modelId = written.modelId;
  modelName = written.manifest.name;
  signaling = await startSignalingProcess({ port: await freePort() });
});

afterAll(async () => {
  await signaling?.stop();
  tmp.cleanup();
});

describe('onnxruntime-node WebGPU provider on SwiftShader', () => {
  it('is compiled into the Linux x64 binding (listSupportedBackends)', () => {
    expect(ort.listSupportedBackends()).toContainEqual({ name: 'webgpu', bundled: true });
  });

  // Tolerance: relative L2 error ≤ 1e-5 and every logit within 1e-5 of the CPU's. Measured on
  // SwiftShader: relative L2 ≤ 3.1e-7, largest difference ≤ 2e-7 (logits up to 0.9 in size), so
  // the bound has ~50× room yet is 10× tighter than the ring verifier's fp32 relL2 (1e-4).
  it('runs fp32 demo stages with CPU fallback disabled; logits match the CPU engine within 1e-5', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', CHILD, model, 'webgpu'], { env: { ...process.env, ...SWIFTSHADER }, timeout: 120_000 });
    const gpu = JSON.parse(stdout) as { providers: string[]; logits: number[][] };
    expect(gpu.providers).toEqual(['webgpu']); // strict: no 'cpu' provider for any node
    const engine = new OrtNodeEngine({ threads: 1 });
    const cpu = await runDeviceChain(engine, model).finally(() => engine.dispose());
    expect(gpu.logits).toHaveLength(cpu.length);
    for (let s = 0; s < cpu.length; s++) {
      const a = gpu.logits[s]!;
      const b = cpu[s]!;
      expect(a).toHaveLength(512);
      let diff = 0;
      let norm = 0;
      let maxAbs = 0;
      for (let i = 0; i < b.length; i++) {
        diff += (a[i]! - b[i]!) ** 2;
        norm += b[i]! ** 2;
        maxAbs = Math.max(maxAbs, Math.abs(a[i]! - b[i]!));
      }
      expect(norm).toBeGreaterThan(0);
      expect(Math.sqrt(diff / norm), `step ${s} relative L2`).toBeLessThanOrEqual(1e-5);
      expect(maxAbs, `step ${s} largest difference`).toBeLessThanOrEqual(1e-5);
    }
  });
});

describe('node-peer start --device', () => {
  it('webgpu with no adapter: exit 2 and an error naming the device and why, before any network', async () => {
    const r = await cli(await startNowhere('webgpu'), NO_ADAPTER);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /error: DeviceUnavailableError: --device webgpu is not available: onnxruntime-node could not run a test graph on it: .*Failed to get a WebGPU adapter/,
    );
    expect(r.stderr).toMatch(/Use --device auto .* or --device cpu/);
  });

  it.runIf(CUDA_PROVIDER_FILES.some((f) => !existsSync(join(ortBinaryDir(), f))))(
    'cuda without the provider library: exit 2 naming the missing files and how to install them',
    async () => {
      const r = await cli(await startNowhere('cuda'), NO_ADAPTER);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--device cuda is not available: the CUDA provider library is not installed \(.*libonnxruntime_providers_cuda\.so.* missing/);
      expect(r.stderr).toContain('ONNXRUNTIME_NODE_INSTALL=1');
    },
  );

  it('auto with no GPU picks the CPU and logs why; webgpu with an adapter passes the check', async () => {
    const auto = await cli(await startNowhere('auto'), NO_ADAPTER);
    expect(auto.code).toBe(4); // past the device check: signaling unreachable
    expect(deviceEvent(auto.stdout)).toMatchObject({ device: 'cpu', requested: 'auto', reason: expect.stringMatching(/no cuda: .*; no webgpu: .*adapter/) });
    const webgpu = await cli(await startNowhere('webgpu'), { ...process.env, ...SWIFTSHADER });
    expect(webgpu.code).toBe(4);
    expect(deviceEvent(webgpu.stdout)).toMatchObject({ device: 'webgpu', requested: 'webgpu' });
  });

  it('a webgpu peer serves its stage, announces engine webgpu to the room and reports it in /status', async () => {
    const peer = startPeerProcess(
      'webgpu-peer',
      ['--signal', signaling.url, '--model', model, '--memory', '64MiB', '--api-port', '0', '--cache-dir', tmp.path('c-peer'), '--device', 'webgpu'],
      {
        env: SWIFTSHADER,
      },
    );
    const observer = createSignalingClient({
      url: signaling.url,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      room: asRoomId(modelId),
      capabilities: { kind: 'node', engine: 'cpu', memoryBytes: 0, modelsHeld: [], modelsWanted: [] },
    });
    try {
      const api = String((await peer.waitFor((e) => e.event === 'api', 60_000))['url']);
      await peer.waitFor((e) => e.event === 'ring-ready', 90_000);
      const status = (await (await fetch(`${api}/status`)).json()) as { device: string; loaded: boolean; peerId: PeerId };
      expect(status).toMatchObject({ device: 'webgpu', loaded: true });
      // Tokens through the ring's one stage on WebGPU (strict: no node on the CPU).
      const res = await fetch(`${api}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: modelName, prompt: 'Hello', max_tokens: 4, temperature: 0 }),
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBeGreaterThan(0);
      await observer.connect();
      expect(observer.members.get(status.peerId)?.capabilities.engine).toBe('webgpu');
    } finally {
      await observer.close();
      peer.kill();
      await peer.exited;
    }
  });
});
