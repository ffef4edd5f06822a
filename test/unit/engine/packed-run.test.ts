// The pure parts of packed runs (shared/engine/ort-packed-run.ts) and of the per-session cache
// (ort-session-cache.ts); the runs themselves on both engines: test/integration/engine/packed-runs.test.ts.
import { describe, expect, it } from 'vitest';
import type { StageInput } from '../../../shared/engine/engine.ts';
import { EngineRuntimeError } from '../../../shared/engine/errors.ts';
import { MAX_PACKED_ROWS, MAX_PACKED_SESSIONS, packedLayout, packedMask, takeBatch, type StageRequest } from '../../../shared/engine/ort-packed-run.ts';
import { appendRows, type SessionState } from '../../../shared/engine/ort-session-cache.ts';
import { causalMask } from '../../../shared/graph/rope.ts';
import { asSessionId } from '../../../shared/ids.ts';
import type { ModelManifest } from '../../../shared/model/manifest.ts';
import { testArchitecture } from '../../util/engine-fixtures.ts';

const tokens = (n: number): StageInput => ({ kind: 'tokens', ids: new Int32Array(n) });
const req = (session: string, rows = 1): StageRequest => ({ session: asSessionId(session), input: tokens(rows) });
const sessionsOf = (batch: readonly StageRequest[]): string[] => batch.map((r) => r.session);

describe('takeBatch', () => {
  it('takes one request per session, in arrival order, and leaves a session’s later ones queued', () => {
    const pending = [req('a'), req('a'), req('b'), req('c'), req('b')];
    expect(sessionsOf(takeBatch(pending, true))).toEqual(['a', 'b', 'c']);
    expect(sessionsOf(pending)).toEqual(['a', 'b']);
  });

  it('takes a single request when the graph cannot pack', () => {
    const pending = [req('a'), req('b')];
    expect(sessionsOf(takeBatch(pending, false))).toEqual(['a']);
    expect(sessionsOf(pending)).toEqual(['b']);
  });

  it('does not let a request overtake an earlier one of its session that did not fit', () => {
    const pending = [req('a', 1), req('b', MAX_PACKED_ROWS), req('b', 1), req('c', 1)];
    expect(sessionsOf(takeBatch(pending, true))).toEqual(['a', 'c']);
    expect(pending.map((r) => [r.session, r.input.kind === 'tokens' ? r.input.ids.length : 0])).toEqual([
      ['b', MAX_PACKED_ROWS],
      ['b', 1],
    ]);
  });

  it('stays within the session bound, and takes a lone request over the row bound', () => {
    const many = Array.from({ length: MAX_PACKED_SESSIONS + 3 }, (_, i) => req(`s${i}`));
    expect(takeBatch(many, true)).toHaveLength(MAX_PACKED_SESSIONS);
    expect(many).toHaveLength(3);
    expect(takeBatch([req('big', MAX_PACKED_ROWS + 1)], true)).toHaveLength(1);
  });
});

describe('packedMask', () => {
  it('is the causal mask for one session', () => {
    expect([...packedMask([{ past: 3, rows: 2 }])]).toEqual([...causalMask(3, 2)]);
  });

  it('gives new sessions one cached row that no row sees (an append graph takes no empty past)', () => {
    const parts = [
      { past: 0, rows: 2 },
      { past: 0, rows: 1 },
    ];
    const layout = packedLayout(parts);
    expect(layout.cached).toBe(1);
    const mask = packedMask(parts, layout);
    const seen = (row: number): number[] => [...mask.subarray(row * 4, row * 4 + 4)].map((v) => (v === 0 ? 1 : 0));
    // columns: the filler row, then a's two rows and b's row
    expect(seen(0)).toEqual([0, 1, 0, 0]);
    expect(seen(1)).toEqual([0, 1, 1, 0]);
    expect(seen(2)).toEqual([0, 0, 0, 1]);
    // one session: the causal mask with a hidden column in front
    const one = packedMask([{ past: 0, rows: 3 }]);
    const causal = causalMask(0, 3);
    for (let r = 0; r < 3; r++) expect([...one.subarray(r * 4, r * 4 + 4)]).toEqual([-1e9, ...causal.subarray(r * 3, r * 3 + 3)]);
  });

  it('lets each row see only its own session’s cache and its own earlier rows', () => {
    const parts = [
      { past: 2, rows: 1 },
      { past: 1, rows: 2 },
    ];
    const layout = packedLayout(parts);
    expect(layout).toEqual({ cached: 3, rows: 3, pastAt: [0, 2], rowAt: [0, 1] });
    const mask = packedMask(parts, layout);
    const seen = (row: number): number[] => [...mask.subarray(row * 6, row * 6 + 6)].map((v) => (v === 0 ? 1 : 0));
    // columns: a's cache (2), b's cache (1), a's row, b's two rows
    expect(seen(0)).toEqual([1, 1, 0, 1, 0, 0]);
    expect(seen(1)).toEqual([0, 0, 1, 0, 1, 0]);
    expect(seen(2)).toEqual([0, 0, 1, 0, 1, 1]);
  });
});

describe('appendRows', () => {
  const arch = testArchitecture({ numKvHeads: 1, headDim: 2, contextLength: 100 });
  // appendRows reads only the architecture of the manifest.
  const parts = { label: '[0, 1)', manifest: { architecture: arch } as ModelManifest };
  const fresh = (): SessionState => ({ length: 0, past: new Map(), rows: new Map() });

  it('appends after the session’s rows and grows the buffer, keeping what was there', () => {
    const state = fresh();
    appendRows(parts, state, 'k', Float32Array.from([1, 2, 3, 4]), 2);
    expect(state.rows.get('k')?.length).toBe(64 * 2);
    state.length = 2;
    const big = Float32Array.from({ length: 70 * 2 }, (_, i) => i + 10);
    appendRows(parts, state, 'k', big, 70);
    const rows = state.rows.get('k') as Float32Array;
    expect(rows.length).toBe(100 * 2); // doubling capped at the context length
    expect([...rows.subarray(0, 6)]).toEqual([1, 2, 3, 4, 10, 11]);
    expect(rows[2 * 2 + 70 * 2 - 1]).toBe(70 * 2 - 1 + 10);
  });

  it('refuses an output of the wrong size', () => {
    expect(() => appendRows(parts, fresh(), 'k', new Float32Array(3), 2)).toThrow(EngineRuntimeError);
  });
});
