import { describe, expect, it } from 'vitest';
import { parseDevice } from '../../../node-peer/cli/option-parsers.ts';
import { chooseDevice } from '../../../node-peer/engine/device-choice.ts';
import { DeviceUnavailableError } from '../../../node-peer/engine/device-errors.ts';
import type { DeviceCheck, GpuDevice } from '../../../node-peer/engine/device-probe.ts';

/** Canned probe answers; records which devices were probed. */
function probes(answers: Partial<Record<GpuDevice, DeviceCheck>>): { probe: (d: GpuDevice) => Promise<DeviceCheck>; asked: GpuDevice[] } {
  const asked: GpuDevice[] = [];
  return {
    asked,
    probe: (d) => {
      asked.push(d);
      return Promise.resolve(answers[d] ?? { available: false, reason: `${d} absent` });
    },
  };
}

describe('chooseDevice', () => {
  it('auto takes CUDA when it works, without probing WebGPU', async () => {
    const p = probes({ cuda: { available: true }, webgpu: { available: true } });
    const c = await chooseDevice('auto', p.probe);
    expect(c).toMatchObject({ device: 'cuda', requested: 'auto' });
    expect(p.asked).toEqual(['cuda']);
  });

  it('auto takes WebGPU when CUDA is missing, and says why CUDA was passed over', async () => {
    const p = probes({ cuda: { available: false, reason: 'no provider library' }, webgpu: { available: true } });
    const c = await chooseDevice('auto', p.probe);
    expect(c.device).toBe('webgpu');
    expect(c.reason).toContain('no cuda: no provider library');
    expect(p.asked).toEqual(['cuda', 'webgpu']);
  });

  it('auto falls back to the CPU with both reasons', async () => {
    const c = await chooseDevice('auto', probes({}).probe);
    expect(c.device).toBe('cpu');
    expect(c.reason).toBe('no cuda: cuda absent; no webgpu: webgpu absent');
  });

  it('cpu probes nothing', async () => {
    const p = probes({ cuda: { available: true } });
    expect((await chooseDevice('cpu', p.probe)).device).toBe('cpu');
    expect(p.asked).toEqual([]);
  });

  it('an explicit GPU device that is not available is an error naming it and why, never the CPU', async () => {
    const p = probes({ cuda: { available: true }, webgpu: { available: false, reason: 'Failed to get a WebGPU adapter' } });
    const err = await chooseDevice('webgpu', p.probe).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceUnavailableError);
    expect((err as DeviceUnavailableError).device).toBe('webgpu');
    expect((err as Error).message).toMatch(/^--device webgpu is not available: Failed to get a WebGPU adapter/);
    expect(p.asked).toEqual(['webgpu']);
  });

  it('an explicit GPU device that works is taken', async () => {
    expect((await chooseDevice('cuda', probes({ cuda: { available: true } }).probe)).device).toBe('cuda');
  });
});

describe('parseDevice', () => {
  it('accepts the four names, any case', () => {
    expect(['auto', 'cpu', 'CUDA', ' webgpu '].map(parseDevice)).toEqual(['auto', 'cpu', 'cuda', 'webgpu']);
  });

  it('refuses anything else, listing the choices', () => {
    expect(() => parseDevice('gpu')).toThrow('"gpu" is not a device: expected auto, cpu, cuda, webgpu');
  });
});
