// Runs of several sessions that reach a stage together are packed into one ORT run
// (shared/engine/ort-stage.ts). Each session must get what its own runs would give: the same
// logits and the same KV cache growth, on both engines, across prefill and decode, sessions of
// different lengths, and a bad request that must fail alone.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoModel } from '../../../node-peer/convert/demo-model.ts';
import { loadChain } from '../../../node-peer/engine/load-chain.ts';
import { OrtNodeEngine } from '../../../node-peer/engine/ort-node-engine.ts';
import { openModelPackage, type ModelPackage } from '../../../node-peer/model/open-model-package.ts';
import type { Engine, StageInput } from '../../../shared/engine/engine.ts';
import { StageInputError } from '../../../shared/engine/errors.ts';
import { OrtStage } from '../../../shared/engine/ort-stage.ts';
import { asSessionId } from '../../../shared/ids.ts';
import { OrtWebEngine } from '../../../shared/engine/ort-web-engine.ts';
import { greedyDecode } from '../../util/engine-fixtures.ts';

const work = mkdtempSync(join(tmpdir(), 'ringmesh-packed-'));
let pkg: ModelPackage;
const engines: Record<'node' | 'wasm', Engine> = { node: new OrtNodeEngine({ threads: 1 }), wasm: new OrtWebEngine({ backend: 'wasm' }) };

beforeAll(async () => {
  await writeDemoModel(join(work, 'm'), { layers: 4, hidden: 64, heads: 8, kvHeads: 2, vocab: 384, context: 128, seed: 7 }, { dtype: 'fp32' });
  pkg = await openModelPackage(join(work, 'm'));
});
afterAll(async () => {
  await engines.node.dispose();
  await engines.wasm.dispose();
  rmSync(work, { recursive: true, force: true });
});

const maxDiff = (x: Float32Array, y: Float32Array): number => x.reduce((m, v, i) => Math.max(m, Math.abs(v - (y[i] as number))), 0);

/** Greedy steps through the chain for one session; concurrent callers' runs meet at each stage. */
const decode = greedyDecode;

describe.each(['node', 'wasm'] as const)('packed runs on %s', (name) => {
  it('several sessions at once get the ids and logits of running alone, prefill and decode, split in two', async () => {
    const stages = await loadChain(
      engines[name],
      pkg,
      [
        { start: 0, end: 2 },
        { start: 2, end: 4 },
      ],
      1,
    );
    try {
      // Different prompt lengths: the sessions' caches differ in length at every step.
      const prompts = [[5, 9, 13], [7], [3, 4, 5, 6, 7, 8, 9], [11, 2], [30, 31, 32, 33, 34]];
      const alone = [];
      for (const [i, p] of prompts.entries()) alone.push(await decode(stages, asSessionId(`alone-${i}`), p, 12));
      const before = stages.map((s) => ({ ...(s as OrtStage).runStats }));
      const together = await Promise.all(prompts.map((p, i) => decode(stages, asSessionId(`together-${i}`), p, 12)));
      // They did share runs: 5 sessions × 12 steps took far fewer ORT runs per stage than 60.
      for (const [k, s] of stages.entries()) {
        const st = (s as OrtStage).runStats;
        expect(st.packedRuns - (before[k]?.packedRuns ?? 0)).toBeGreaterThan(0);
        expect(st.runs - (before[k]?.runs ?? 0)).toBeLessThan(40);
      }
      let worst = 0;
      for (const [i, t] of together.entries()) {
        expect(t.ids).toEqual(alone[i]?.ids);
        for (const [k, l] of t.logits.entries()) worst = Math.max(worst, maxDiff(l, alone[i]?.logits[k] as Float32Array));
        expect(stages[0]?.sessionLength(asSessionId(`together-${i}`))).toBe((prompts[i]?.length ?? 0) + 11);
      }
      expect(worst).toBeLessThan(1e-4);
    } finally {
      for (const s of stages) await s.dispose();
    }
  });

  it('a bad request fails alone; the requests it arrived with still run', async () => {
    const [stage] = await loadChain(engines[name], pkg, [{ start: 0, end: 4 }], 1);
    try {
      const good: StageInput = { kind: 'tokens', ids: Int32Array.from([1, 2, 3]) };
      const bad: StageInput = { kind: 'tokens', ids: Int32Array.from([1, 99999]) };
      const results = await Promise.allSettled([stage!.run(asSessionId('g1'), good), stage!.run(asSessionId('b'), bad), stage!.run(asSessionId('g2'), good)]);
      expect(results[0]?.status).toBe('fulfilled');
      expect(results[2]?.status).toBe('fulfilled');
      expect(results[1]?.status === 'rejected' && results[1].reason).toBeInstanceOf(StageInputError);
      expect(stage!.sessionLength(asSessionId('b'))).toBe(0);
      expect(stage!.sessionLength(asSessionId('g1'))).toBe(3);
      // Each packed session gets the log Σ exp of its own logits row.
      for (const r of [results[0], results[2]]) {
        const out = r?.status === 'fulfilled' ? r.value : undefined;
        if (out?.kind !== 'logits') throw new Error('expected logits');
        const max = out.data.reduce((m, v) => Math.max(m, v), -Infinity);
        expect(out.logSumExp).toBeCloseTo(max + Math.log(out.data.reduce((sum, v) => sum + Math.exp(v - max), 0)), 4);
      }
    } finally {
      await stage!.dispose();
    }
  });
});
