// fp16 KV caches (build-stage-graph.ts `KvDtype`): the pure parts — what the per-session cache keeps
// and counts, the stage budget's bytes per KV element, and the engine that refuses the option.
// Runs on real sessions: test/integration/engine/fp16-kv.test.ts.
import { describe, expect, it } from 'vitest';
import { UnsupportedKvDtypeError } from '../../../shared/engine/errors.ts';
import { OrtWebEngine } from '../../../shared/engine/ort-web-engine.ts';
import { allocKvRows, appendRows, sessionKvBytes, type SessionState } from '../../../shared/engine/ort-session-cache.ts';
import { kvElementBytes } from '../../../shared/graph/build-stage-graph.ts';
import type { ModelManifest } from '../../../shared/model/manifest.ts';
import { modelShapeFromManifest } from '../../../shared/planner/model-shape.ts';
import { stageLimitsFor } from '../../../shared/ring/stage-budget.ts';
import { testArchitecture } from '../../util/engine-fixtures.ts';

const arch = testArchitecture({ numLayers: 2, numKvHeads: 2, headDim: 8, contextLength: 256 });
const manifest = {
  architecture: arch,
  units: ['embed', 'layer-000', 'layer-001', 'head'].map((name) => ({ name, file: `${name}.bin`, bytes: 10_000, pieces: [] })),
} as unknown as ModelManifest;
const fresh = (): SessionState => ({ length: 0, past: new Map(), rows: new Map() });

describe('fp16 KV in the per-session cache', () => {
  const parts = { label: '[0, 2)', manifest };

  it('keeps fp16 rows as Uint16Array bit patterns, in half the bytes of fp32 rows', () => {
    const half = fresh();
    const full = fresh();
    appendRows(
      parts,
      half,
      'k',
      Uint16Array.from({ length: 3 * 16 }, (_, i) => 0x3c00 + i),
      3,
    );
    appendRows(parts, full, 'k', new Float32Array(3 * 16), 3);
    const rows = half.rows.get('k');
    expect(rows).toBeInstanceOf(Uint16Array);
    expect(rows?.[5]).toBe(0x3c05);
    expect(sessionKvBytes({ graph: { kvDtype: 'fp16' } }, half) * 2).toBe(sessionKvBytes({ graph: { kvDtype: 'fp32' } }, full));
  });

  it("counts a 'present' cache by its tensors' element count and the graph's element size", () => {
    const state = fresh();
    state.past.set('past_key.0', { type: 'float16', dims: [2, 5, 8], data: new Uint16Array(80) });
    expect(sessionKvBytes({ graph: { kvDtype: 'fp16' } }, state)).toBe(160);
    expect(sessionKvBytes({ graph: { kvDtype: 'fp32' } }, state)).toBe(320);
  });

  it('allocates buffers of the graph’s element type', () => {
    expect(allocKvRows({ kvDtype: 'fp16' }, 4)).toBeInstanceOf(Uint16Array);
    expect(allocKvRows({ kvDtype: 'fp32' }, 4)).toBeInstanceOf(Float32Array);
    expect([kvElementBytes('fp16'), kvElementBytes('fp32')]).toEqual([2, 4]);
  });
});

describe('the stage budget with fp16 KV', () => {
  it('sizes KV by the engine’s element bytes: fp16 doubles the tokens a budget holds; the default stays fp32', () => {
    expect(modelShapeFromManifest(manifest, 128).kvBytesPerTokenPerLayer).toBe(2 * 2 * 8 * 4);
    expect(modelShapeFromManifest(manifest, 128, 2).kvBytesPerTokenPerLayer).toBe(2 * 2 * 8 * 2);
    const input = { manifest, range: { start: 0, end: 2 }, contextTokens: 128, memoryBytes: 40_000 + 128 * 10 * (2 * 2 * 8 * 4 * 2) };
    const fp32 = stageLimitsFor(input).kvTokens;
    expect(stageLimitsFor({ ...input, kvBytesPerElement: 4 }).kvTokens).toBe(fp32);
    expect(fp32).toBe(128 * 10);
    expect(stageLimitsFor({ ...input, kvBytesPerElement: 2 }).kvTokens).toBe(2 * fp32);
  });
});

describe('an engine without fp16 KV', () => {
  it('onnxruntime-web refuses it with a typed error, not a silent fp32 cache', () => {
    expect(() => new OrtWebEngine({ backend: 'wasm', kvDtype: 'fp16' })).toThrow(UnsupportedKvDtypeError);
    expect(() => new OrtWebEngine({ backend: 'wasm', kvDtype: 'fp16' })).toThrow(/fp32 only, fp16 was asked for/);
    expect(new OrtWebEngine({ backend: 'wasm', kvDtype: 'fp32' }).kind).toBe('wasm');
  });
});
