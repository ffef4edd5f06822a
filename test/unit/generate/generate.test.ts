import { describe, expect, it } from 'vitest';
import type { Stage, StageInput, StageOutput } from '../../../shared/engine/engine.ts';
import type { LayerRange } from '../../../shared/model/layer-range.ts';
import { InvalidSplitError, PromptTooLongError, StageChainError } from '../../../shared/generate/errors.ts';
import { generate } from '../../../shared/generate/generate.ts';
import { evenRanges, rangesFromSplit } from '../../../shared/generate/split.ts';
import { assertChain } from '../../../shared/generate/stage-chain.ts';
import { asSessionId, type SessionId } from '../../../shared/ids.ts';
import { argmax } from '../../../shared/sampler/sampler.ts';

const VOCAB = 16;

/**
 * A stand-in for the model (the loop is under test, not the math): its logits at position p are
 * one-hot on script(p), so the "model" chooses token script(p) for position p + 1.
 */
class ScriptedStage implements Stage {
  readonly range: LayerRange = { start: 0, end: 1 };
  readonly runs: number[] = [];
  private readonly lengths = new Map<SessionId, number>();
  freed = 0;

  constructor(private readonly script: (position: number) => number) {}

  run(session: SessionId, input: StageInput): Promise<StageOutput> {
    const n = input.kind === 'tokens' ? input.ids.length : input.seqLen;
    const length = (this.lengths.get(session) ?? 0) + n;
    this.lengths.set(session, length);
    this.runs.push(n);
    const logits = new Float32Array(VOCAB);
    logits[this.script(length - 1)] = 1;
    return Promise.resolve({ kind: 'logits', data: logits });
  }

  sessionLength(session: SessionId): number {
    return this.lengths.get(session) ?? 0;
  }

  freeSession(session: SessionId): void {
    this.freed++;
    this.lengths.delete(session);
  }

  dispose(): Promise<void> {
    return Promise.resolve();
  }
}

const base = { session: asSessionId('s'), pick: argmax, stopIds: [1] };

describe('generate', () => {
  it('counts positions like run.c: steps = prompt + generated - 1, one decode run per further token', async () => {
    const stage = new ScriptedStage((p) => 3 + (p % 5));
    const streamed: number[] = [];
    const r = await generate([stage], 100, { ...base, promptIds: [1, 9, 10], maxPositions: 7, onToken: (id) => streamed.push(id) });
    // Logits at positions 2..6 choose tokens for positions 3..7: 5 tokens, 4 decode runs.
    expect(r.generatedIds).toEqual([5, 6, 7, 3, 4]);
    expect(streamed).toEqual(r.generatedIds);
    expect(stage.runs).toEqual([3, 1, 1, 1, 1]);
    expect(r).toMatchObject({ stopReason: 'max-positions', positions: 7 });
    expect(stage.freed).toBe(1);
  });

  it('clamps max positions to the context length', async () => {
    const stage = new ScriptedStage(() => 4);
    const r = await generate([stage], 5, { ...base, promptIds: [1, 9], maxPositions: 1000 });
    expect(r.generatedIds).toHaveLength(4);
    expect(r.positions).toBe(5);
  });

  it('stops on a stop id, which ends the ids but is not streamed', async () => {
    const stage = new ScriptedStage((p) => (p === 4 ? 1 : 7));
    const streamed: number[] = [];
    const r = await generate([stage], 100, { ...base, promptIds: [1, 9], onToken: (id) => streamed.push(id) });
    expect(r.generatedIds).toEqual([7, 7, 7, 1]);
    expect(streamed).toEqual([7, 7, 7]);
    expect(r.stopReason).toBe('stop-id');
  });

  it('stops after max tokens without running the last one', async () => {
    const stage = new ScriptedStage(() => 8);
    const r = await generate([stage], 100, { ...base, promptIds: [1], maxTokens: 3 });
    expect(r.generatedIds).toEqual([8, 8, 8]);
    expect(stage.runs).toEqual([1, 1, 1]);
    expect(r.stopReason).toBe('max-tokens');
  });

  it('rejects a prompt longer than the positions allowed, and an empty one', async () => {
    const stage = new ScriptedStage(() => 8);
    await expect(generate([stage], 4, { ...base, promptIds: [1, 2, 3, 4, 5] })).rejects.toThrow(PromptTooLongError);
    await expect(generate([stage], 4, { ...base, promptIds: [] })).rejects.toThrow(PromptTooLongError);
  });

  it('frees the session on every stage when generation fails', async () => {
    const stages = [new ScriptedStage(() => 8), new ScriptedStage(() => 8)];
    const failing = {
      ...base,
      promptIds: [1],
      pick: (): number => {
        throw new Error('boom');
      },
    };
    await expect(generate(stages, 10, failing)).rejects.toThrow('boom');
    expect(stages.map((s) => s.freed)).toEqual([1, 1]);
  });
});

describe('layer splits', () => {
  it('turns layer counts into contiguous ranges', () => {
    expect(rangesFromSplit('2, 2', 4)).toEqual([
      { start: 0, end: 2 },
      { start: 2, end: 4 },
    ]);
    expect(evenRanges(3, 5)).toEqual([
      { start: 0, end: 2 },
      { start: 2, end: 4 },
      { start: 4, end: 5 },
    ]);
    expect(evenRanges(1, 5)).toEqual([{ start: 0, end: 5 }]);
  });

  it.each(['2,1', '2,3', '0,4', 'a', '1.5,2.5'])('rejects split "%s" for 4 layers', (spec) => {
    expect(() => rangesFromSplit(spec, 4)).toThrow(InvalidSplitError);
  });

  it('rejects more stages than layers', () => {
    expect(() => evenRanges(5, 4)).toThrow(InvalidSplitError);
    expect(() => evenRanges(0, 4)).toThrow(InvalidSplitError);
  });

  it('checks a chain covers all layers in order', () => {
    expect(() =>
      assertChain(
        [
          { start: 0, end: 2 },
          { start: 2, end: 4 },
        ],
        4,
      ),
    ).not.toThrow();
    expect(() =>
      assertChain(
        [
          { start: 0, end: 2 },
          { start: 3, end: 4 },
        ],
        4,
      ),
    ).toThrow(StageChainError);
    expect(() => assertChain([{ start: 0, end: 2 }], 4)).toThrow(StageChainError);
  });
});
