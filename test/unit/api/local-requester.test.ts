import { afterEach, describe, expect, it, vi } from 'vitest';
import { createStagesRequester } from '../../../node-peer/api/local-requester.ts';
import { asPeerId } from '../../../shared/ids.ts';
import { DeadlineExceededError } from '../../../shared/ring/errors.ts';
import type { GenerateOptions, TokenEvent } from '../../../shared/ring/requester.ts';
import { FakeStage } from '../ring/fake-stage.ts';

// The Requester contract of the local loop, on the fake model (its greedy ids are whatever it
// computes; the test reads them from an unbounded run and checks the bounds against them).
const LAYERS = 2;
const stages = (): FakeStage[] => [new FakeStage({ start: 0, end: 1 }, LAYERS), new FakeStage({ start: 1, end: LAYERS }, LAYERS)];

async function events(s: readonly FakeStage[], ctx: number, prompt: readonly number[], options: GenerateOptions): Promise<TokenEvent[]> {
  const out: TokenEvent[] = [];
  for await (const e of createStagesRequester(asPeerId('local'), s, ctx).generate(prompt, options)) out.push(e);
  return out;
}
const ids = (evs: readonly TokenEvent[]): number[] => evs.flatMap((e) => (e.kind === 'token' ? [e.id] : []));

afterEach(() => {
  vi.useRealTimers();
});

describe('createStagesRequester', () => {
  it('stops at the context bound: prompt + tokens = context, steps numbered from 0, session freed', async () => {
    const s = stages();
    const evs = await events(s, 8, [3, 4, 5], { maxTokens: 100 });
    expect(evs.filter((e) => e.kind === 'token').map((e) => (e.kind === 'token' ? e.step : -1))).toEqual([0, 1, 2, 3, 4]);
    expect(evs.at(-1)).toEqual({ kind: 'end', reason: 'length', tokens: ids(evs) });
    expect(s.map((x) => x.freed.length)).toEqual([1, 1]);
  });

  it('keeps the stop id out of tokens and reports it as stopToken', async () => {
    const all = ids(await events(stages(), 64, [7], { maxTokens: 6 }));
    const stop = all[3] as number;
    const before = all.slice(0, all.indexOf(stop));
    const evs = await events(stages(), 64, [7], { maxTokens: 6, stop: [stop] });
    expect(ids(evs)).toEqual(before);
    expect(evs.at(-1)).toEqual({ kind: 'end', reason: 'stop', tokens: before, stopToken: stop });
  });

  it('ends with length at maxTokens, and at once when the prompt fills the context', async () => {
    expect((await events(stages(), 64, [7], { maxTokens: 2 })).at(-1)).toMatchObject({ reason: 'length', tokens: { length: 2 } });
    const s = stages();
    expect(await events(s, 3, [1, 2, 3], { maxTokens: 5 })).toEqual([{ kind: 'end', reason: 'length', tokens: [] }]);
    expect(s.map((x) => x.runs)).toEqual([0, 0]);
  });

  it('an abort ends with cancelled after the tokens read so far and frees the session', async () => {
    const s = stages();
    const ctl = new AbortController();
    const evs: TokenEvent[] = [];
    for await (const e of createStagesRequester(asPeerId('local'), s, 64).generate([7], { maxTokens: 50, signal: ctl.signal })) {
      evs.push(e);
      if (evs.length === 2) ctl.abort();
    }
    expect(evs.at(-1)).toEqual({ kind: 'end', reason: 'cancelled', tokens: ids(evs) });
    expect(ids(evs)).toHaveLength(2);
    expect(s.map((x) => x.freed.length)).toEqual([1, 1]);
  });

  it('throws DeadlineExceededError once the deadline has passed, and frees the session', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const s = stages();
    const iter = createStagesRequester(asPeerId('local'), s, 64).generate([7], { maxTokens: 50, timeoutMs: 1_000 })[Symbol.asyncIterator]();
    expect((await iter.next()).value).toMatchObject({ kind: 'token', step: 0 });
    vi.setSystemTime(Date.now() + 2_000);
    await expect(iter.next()).rejects.toThrow(DeadlineExceededError);
    expect(s.map((x) => x.freed.length)).toEqual([1, 1]);
  });
});
