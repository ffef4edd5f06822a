import { describe, expect, it } from 'vitest';
import { UnsupportedRopeScalingError } from '../../../shared/graph/errors.ts';
import { causalMask, ropeInverseFrequencies, ropeTables } from '../../../shared/graph/rope.ts';
import { testArchitecture } from '../../util/engine-fixtures.ts';

describe('ropeInverseFrequencies', () => {
  it('is theta^(-2i/headDim) without scaling', () => {
    const inv = ropeInverseFrequencies(testArchitecture({ headDim: 8, ropeTheta: 10000 }));
    expect([...inv]).toEqual([1, 0.1, 0.01, 0.001].map(Math.fround));
  });

  it('divides by the factor for linear scaling', () => {
    const inv = ropeInverseFrequencies(testArchitecture({ headDim: 8, ropeScaling: { type: 'linear', factor: 4 } }));
    expect([...inv]).toEqual([0.25, 0.025, 0.0025, 0.00025].map(Math.fround));
  });

  it('llama3: keeps high frequencies, divides low ones, blends in between', () => {
    const arch = testArchitecture({ headDim: 8, ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 100 } });
    const plain = ropeInverseFrequencies(testArchitecture({ headDim: 8 }));
    const inv = ropeInverseFrequencies(arch);
    // wavelengths 2π/f: 6.3 (< 25, kept), 62.8 (between 25 and 100, blended), 628 and 6283 (> 100, / 8)
    expect(inv[0]).toBe(plain[0]);
    expect(inv[1]).toBeLessThan(plain[1] as number);
    expect(inv[1]).toBeGreaterThan((plain[1] as number) / 8);
    expect(inv[2]).toBeCloseTo((plain[2] as number) / 8, 9);
    expect(inv[3]).toBeCloseTo((plain[3] as number) / 8, 9);
  });

  it('rejects other scaling kinds with a typed error', () => {
    expect(() => ropeInverseFrequencies(testArchitecture({ ropeScaling: { type: 'yarn', factor: 4 } }))).toThrow(UnsupportedRopeScalingError);
  });
});

describe('ropeTables', () => {
  it('repeats each half and starts at the given position', () => {
    const { cos, sin } = ropeTables(new Float32Array([1, 0.5]), 3, 2);
    const row = (p: number, f: (x: number) => number): number[] => [f(p), f(p * 0.5), f(p), f(p * 0.5)].map(Math.fround);
    expect([...cos]).toEqual([...row(3, Math.cos), ...row(4, Math.cos)]);
    expect([...sin]).toEqual([...row(3, Math.sin), ...row(4, Math.sin)]);
  });
});

describe('causalMask', () => {
  it('lets each new position see the past and itself, not later positions', () => {
    const m = causalMask(2, 2);
    expect([...m]).toEqual([0, 0, 0, -1e9, 0, 0, 0, 0].map(Math.fround));
    expect([...causalMask(5, 1)]).toEqual([0, 0, 0, 0, 0, 0]);
  });
});
