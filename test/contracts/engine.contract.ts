import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fullGc } from '../../node-peer/engine/full-gc.ts';
import type { ModelPackage } from '../../node-peer/model/open-model-package.ts';
import type { Engine, Stage } from '../../shared/engine/engine.ts';
import type { LayerRange } from '../../shared/model/layer-range.ts';
import type { WeightDType } from '../../shared/model/manifest.ts';
import { runChain } from '../../shared/generate/stage-chain.ts';
import { asSessionId } from '../../shared/ids.ts';
import { readRangeUnits, testArchitecture, writeRandomPackage } from '../util/engine-fixtures.ts';

/** Rejects with an error of class `name` — or, across a Worker, an error that had that class there. */
async function expectRejectsWith(p: Promise<unknown>, name: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e as { name?: string; remoteName?: string },
  );
  expect(err, `expected a rejection with ${name}`).toBeDefined();
  expect([err?.name, err?.remoteName]).toContain(name);
}

/**
 * The behaviour every Engine (onnxruntime-node, onnxruntime-web, the Worker proxy, the WASM kernel
 * engine) must have, on a small random GQA model stored at `dtype` (fp16 by default; the kernel
 * engine runs q8/q4 only). `create` gets a fresh engine; the suite disposes it.
 */
export function runEngineContract(name: string, create: () => Engine, dtype: WeightDType = 'fp16'): void {
  describe(`Engine contract: ${name}`, () => {
    let pkg: ModelPackage;
    let cleanup: () => void;
    let engine: Engine;
    const load = async (range: LayerRange): Promise<Stage> => engine.loadStage({ manifest: pkg.manifest, range, units: await readRangeUnits(pkg, range) });

    beforeAll(async () => {
      ({ pkg, cleanup } = await writeRandomPackage(testArchitecture({ contextLength: 16 }), dtype, 11));
      engine = create();
    });
    afterAll(async () => {
      await engine.dispose();
      cleanup();
    });

    it('a first stage takes tokens; a last stage returns the last position logits; lengths track the cache', async () => {
      const whole = await load({ start: 0, end: 3 });
      const s = asSessionId('lengths');
      const out = await whole.run(s, { kind: 'tokens', ids: Int32Array.of(1, 5, 9) });
      expect(out.kind).toBe('logits');
      expect(out.data).toHaveLength(pkg.manifest.architecture.vocabSize);
      // The engine's log Σ exp of the logits: what a TOKEN's logprob is computed from.
      const max = Math.max(...out.data);
      const lse = max + Math.log(Array.from(out.data).reduce((sum, v) => sum + Math.exp(v - max), 0));
      expect(out.kind === 'logits' ? out.logSumExp : undefined).toBeCloseTo(lse, 4);
      expect(whole.sessionLength(s)).toBe(3);
      await whole.run(s, { kind: 'tokens', ids: Int32Array.of(4) });
      expect(whole.sessionLength(s)).toBe(4);
      whole.freeSession(s);
      expect(whole.sessionLength(s)).toBe(0);
      await whole.dispose();
    });

    it('a middle stage maps hidden states to hidden states of the same shape', async () => {
      const middle = await load({ start: 1, end: 2 });
      const h = pkg.manifest.architecture.hiddenSize;
      const out = await middle.run(asSessionId('mid'), { kind: 'hidden', data: new Float32Array(2 * h).fill(0.5), seqLen: 2 });
      expect(out).toMatchObject({ kind: 'hidden', seqLen: 2 });
      expect(out.data).toHaveLength(2 * h);
      await middle.dispose();
    });

    it('split stages compute what one stage computes; interleaved sessions do not disturb each other', async () => {
      const whole = [await load({ start: 0, end: 3 })];
      const split = [await load({ start: 0, end: 1 }), await load({ start: 1, end: 3 })];
      const steps = [[1, 7, 3, 12], [5], [6]];
      const alone: Float32Array[] = [];
      for (const ids of steps) alone.push(await runChain(whole, asSessionId('alone'), ids));
      // Two sessions interleaved step by step on the split chain, as pipelined ring sessions are.
      for (const [i, ids] of steps.entries()) {
        const [a, b] = await Promise.all([runChain(split, asSessionId('a'), ids), runChain(split, asSessionId('b'), ids)]);
        const expected = alone[i] as Float32Array;
        for (const got of [a, b]) {
          const worst = got.reduce((m, v, j) => Math.max(m, Math.abs(v - (expected[j] as number))), 0);
          expect(worst).toBeLessThan(1e-4);
        }
      }
      for (const s of [...whole, ...split]) await s.dispose();
    });

    it('calls releaseUnits once, needs no unit bytes after it, and keeps none once loaded', async () => {
      const range = { start: 0, end: 3 };
      const kept = await load(range);
      const units = await readRangeUnits(pkg, range);
      const refs = [...units.values()].map((b) => new WeakRef(b));
      let released = 0;
      // The caller drops its bytes when told (as a ring peer does): the stage must not need them.
      const stage = await engine.loadStage({ manifest: pkg.manifest, range, units, releaseUnits: () => (released++, units.clear()) });
      expect(released).toBe(1);
      const ids = [1, 7, 3];
      const want = await runChain([kept], asSessionId('kept'), ids);
      const got = await runChain([stage], asSessionId('released'), ids);
      expect(Array.from(got)).toEqual(Array.from(want));
      // Nothing in the engine or the stage holds the unit bytes (WeakRefs clear only between jobs).
      for (let i = 0; i < 3; i++) {
        await new Promise((r) => setTimeout(r, 10));
        fullGc();
      }
      expect(refs.filter((r) => r.deref() !== undefined)).toHaveLength(0);
      for (const s of [kept, stage]) await s.dispose();
    });

    it('rejects the wrong input kind, bad token ids and runs past the context length', async () => {
      const first = await load({ start: 0, end: 2 });
      const h = pkg.manifest.architecture.hiddenSize;
      await expectRejectsWith(first.run(asSessionId('x'), { kind: 'hidden', data: new Float32Array(h), seqLen: 1 }), 'StageInputError');
      await expectRejectsWith(first.run(asSessionId('x'), { kind: 'tokens', ids: Int32Array.of(1, 100000) }), 'StageInputError');
      await first.run(asSessionId('long'), { kind: 'tokens', ids: new Int32Array(10).fill(3) });
      await expectRejectsWith(first.run(asSessionId('long'), { kind: 'tokens', ids: new Int32Array(7).fill(3) }), 'ContextLengthExceededError');
      expect(first.sessionLength(asSessionId('long'))).toBe(10);
      await first.dispose();
    });
  });
}
