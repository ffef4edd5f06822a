import { describe, expect, it } from 'vitest';
import { decodeSteps, type DecodeStep, type StepPick } from '../../../shared/generate/decode-steps.ts';
import { PromptTooLongError } from '../../../shared/generate/errors.ts';
import { runChain } from '../../../shared/generate/stage-chain.ts';
import { asSessionId } from '../../../shared/ids.ts';
import { argmax } from '../../../shared/sampler/sampler.ts';
import { FakeStage } from '../ring/fake-stage.ts';

const LAYERS = 4;
const session = asSessionId('decode');
const split = (): FakeStage[] => [new FakeStage({ start: 0, end: 2 }, LAYERS), new FakeStage({ start: 2, end: LAYERS }, LAYERS)];
const runs = (stages: readonly FakeStage[]): number[] => stages.map((s) => s.runs);

async function collect(iter: AsyncIterable<DecodeStep>): Promise<DecodeStep[]> {
  const out: DecodeStep[] = [];
  for await (const s of iter) out.push(s);
  return out;
}

/** The same greedy ids, computed by hand on one unsplit stage: prefill, then one run per token. */
async function reference(prompt: readonly number[], count: number): Promise<number[]> {
  const stage = new FakeStage({ start: 0, end: LAYERS }, LAYERS);
  const ids: number[] = [];
  let logits = await runChain([stage], session, prompt);
  for (let i = 0; i < count; i++) {
    ids.push(argmax(logits));
    logits = await runChain([stage], session, [ids.at(-1) as number]);
  }
  return ids;
}

/** Picks a fixed script by step, whatever the logits (the loop is under test, not the sampler). */
const scripted =
  (ids: readonly number[]): StepPick =>
  (_logits, step) =>
    ids[step] ?? 0;

describe('decodeSteps', () => {
  it('yields the greedy tokens in order, step k at position n + k, running each only when the next is read', async () => {
    const stages = split();
    const prompt = [3, 14, 15];
    const iter = decodeSteps(stages, { session, promptIds: prompt, pick: argmax, maxTokens: 5, maxPositions: 100 });
    expect(runs(stages)).toEqual([0, 0]);
    const first = await iter.next();
    expect(first.value).toMatchObject({ step: 0, position: 3 });
    expect(runs(stages)).toEqual([1, 1]); // the prefill only
    const rest = await collect({ [Symbol.asyncIterator]: () => iter });
    const steps = [first.value as DecodeStep, ...rest];
    expect(steps.map((s) => s.id)).toEqual(await reference(prompt, 5));
    expect(steps.map((s) => [s.step, s.position])).toEqual([0, 1, 2, 3, 4].map((k) => [k, 3 + k]));
    expect(steps.map((s) => s.end)).toEqual([undefined, undefined, undefined, undefined, 'max-tokens']);
    expect(runs(stages)).toEqual([5, 5]); // the fifth token is not run
    expect(stages.map((s) => s.freed)).toEqual([[session], [session]]);
  });

  it('ends on a stop id: yielded last with end stop-id, not run, not counted against maxTokens', async () => {
    const stages = split();
    const steps = await collect(decodeSteps(stages, { session, promptIds: [2], pick: scripted([5, 6, 1, 7]), stopIds: [1], maxTokens: 3, maxPositions: 100 }));
    expect(steps.map((s) => [s.id, s.end])).toEqual([
      [5, undefined],
      [6, undefined],
      [1, 'stop-id'],
    ]);
    expect(runs(stages)).toEqual([3, 3]);
    expect(stages.map((s) => s.freed)).toEqual([[session], [session]]);
  });

  it('runs nothing at or past maxPositions (run.c counting): the token chosen there ends it', async () => {
    const stages = split();
    let length = 0;
    const steps: DecodeStep[] = [];
    for await (const s of decodeSteps(stages, { session, promptIds: [1, 9, 10], pick: argmax, maxPositions: 7 })) {
      length = stages[0]?.sessionLength(session) ?? 0;
      steps.push(s);
    }
    // Logits at positions 2..6 choose the tokens at 3..7: five tokens, positions 0..6 run.
    expect(steps.map((s) => s.position)).toEqual([3, 4, 5, 6, 7]);
    expect(steps.at(-1)?.end).toBe('max-positions');
    expect(length).toBe(7);
    expect(runs(stages)).toEqual([5, 5]);
  });

  it('a prompt of exactly maxPositions yields one token and runs nothing more', async () => {
    const stages = split();
    const steps = await collect(decodeSteps(stages, { session, promptIds: [1, 2, 3], pick: argmax, maxPositions: 3 }));
    expect(steps.map((s) => [s.position, s.end])).toEqual([[3, 'max-positions']]);
    expect(runs(stages)).toEqual([1, 1]);
  });

  it('rejects a prompt longer than maxPositions, or empty, before running anything', async () => {
    const stages = split();
    await expect(collect(decodeSteps(stages, { session, promptIds: [1, 2, 3, 4], pick: argmax, maxPositions: 3 }))).rejects.toThrow(PromptTooLongError);
    await expect(collect(decodeSteps(stages, { session, promptIds: [], pick: argmax, maxPositions: 3 }))).rejects.toThrow(PromptTooLongError);
    expect(runs(stages)).toEqual([0, 0]);
  });

  it('an abort mid-stream throws its reason at the next read and frees the session on every stage', async () => {
    const stages = split();
    const ctl = new AbortController();
    const seen: number[] = [];
    const reading = (async () => {
      for await (const s of decodeSteps(stages, { session, promptIds: [4], pick: argmax, maxPositions: 100, signal: ctl.signal })) {
        seen.push(s.id);
        if (seen.length === 2) ctl.abort(new Error('stop now'));
      }
    })();
    await expect(reading).rejects.toThrow('stop now');
    expect(seen).toHaveLength(2);
    // The prefill, the first token's run, and the second's (the read after it resumes with the
    // run, then checks the signal before picking).
    expect(runs(stages)).toEqual([3, 3]);
    expect(stages.map((s) => s.freed)).toEqual([[session], [session]]);
  });

  it('a consumer that stops reading early (break) frees the session without running further', async () => {
    const stages = split();
    for await (const s of decodeSteps(stages, { session, promptIds: [4, 5], pick: argmax, maxPositions: 100 })) {
      if (s.step === 1) break;
    }
    expect(runs(stages)).toEqual([2, 2]);
    expect(stages.map((s) => s.freed)).toEqual([[session], [session]]);
  });

  it('a failing stage propagates its error and still frees the session', async () => {
    const stages = split();
    const iter = decodeSteps(stages, { session, promptIds: [4], pick: argmax, maxPositions: 100 });
    await iter.next();
    (stages[1] as FakeStage).failNext = true;
    await expect(iter.next()).rejects.toThrow('fake engine failure');
    expect(stages.map((s) => s.freed)).toEqual([[session], [session]]);
  });
});
