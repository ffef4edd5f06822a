import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { convertLlama2c } from '../../../node-peer/convert/convert-llama2c.ts';
import { goldenCases, MODELS_DIR } from '../../util/models.ts';

// The stage graph on a WebGPU backend without a browser: onnxruntime-node's WebGPU provider on
// Chromium's SwiftShader Vulkan driver (docs/engines.md), with CPU fallback disabled, so every node of
// the graph must run on WebGPU. The environment must be set before the process starts (dlopen).
const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'ringmesh-webgpu-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('stage graphs on the WebGPU provider (SwiftShader)', () => {
  it('reproduce the GQA golden case byte for byte, split in two', async () => {
    const c = goldenCases()[2];
    if (c === undefined) throw new Error('golden case 2 missing');
    const dir = join(work, 'stories');
    await convertLlama2c(join(MODELS_DIR, c.model), join(MODELS_DIR, c.tokenizer), dir);
    const bin = join(import.meta.dirname, '..', '..', '..', 'bin', 'node-peer.js');
    const { stdout } = await run(
      process.execPath,
      [bin, 'generate', '--model', dir, '--prompt', c.prompt, '--steps', String(c.steps), '--engine', 'webgpu', '--split', '2,3'],
      { env: { ...process.env, LD_LIBRARY_PATH: '/usr/lib/chromium', VK_ICD_FILENAMES: '/usr/lib/chromium/vk_swiftshader_icd.json' } },
    );
    expect(stdout).toBe(c.stdout);
  });

  // Every node of a q8/q4 stage (MatMulNBits, the q8 embedding lookup) runs on WebGPU: the same
  // text as the CPU engine on the same package, split in two.
  it.each(['q8', 'q4'] as const)('%s stages: the same greedy text as the CPU engine', async (dtype) => {
    const c = goldenCases()[0];
    if (c === undefined) throw new Error('golden case 0 missing');
    const dir = join(work, `aidreams-${dtype}`);
    await convertLlama2c(join(MODELS_DIR, c.model), join(MODELS_DIR, c.tokenizer), dir, { dtype });
    const bin = join(import.meta.dirname, '..', '..', '..', 'bin', 'node-peer.js');
    const generate = async (engine: string): Promise<string> =>
      (
        await run(process.execPath, [bin, 'generate', '--model', dir, '--prompt', c.prompt, '--steps', '48', '--engine', engine, '--split', '2,2'], {
          env: { ...process.env, LD_LIBRARY_PATH: '/usr/lib/chromium', VK_ICD_FILENAMES: '/usr/lib/chromium/vk_swiftshader_icd.json' },
        })
      ).stdout;
    const [gpu, cpu] = [await generate('webgpu'), await generate('node')];
    expect(gpu).toBe(cpu);
    expect(gpu.startsWith(c.prompt)).toBe(true);
    // q8 keeps the fp32 golden's greedy path on this model (docs/model-package.md).
    if (dtype === 'q8') expect(c.stdout.startsWith(gpu.trimEnd())).toBe(true);
  });
});
