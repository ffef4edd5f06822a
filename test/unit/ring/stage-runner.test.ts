import { describe, expect, it } from 'vitest';
import { asPeerId, asSessionId } from '../../../shared/ids.ts';
import { RingStageRunner } from '../../../shared/ring/stage-runner.ts';
import type { RingMessage } from '../../../shared/ring/messages.ts';
import { FakeStage } from './fake-stage.ts';
import { InProcessRing } from './in-process-ring.ts';
import { ME, S1, spec } from './harness.ts';

const L = 6;

async function generateOn(ranges: [string, number, number][], prompt: number[], maxTokens = 10): Promise<number[]> {
  const ring = new InProcessRing(L);
  ring.plan(ranges);
  ring.submit(S1, spec({ prompt, maxTokens }));
  await ring.pump();
  expect(ring.ends).toMatchObject([{ type: 'finished', reason: 'length' }]);
  return ring.tokens.get(S1) ?? [];
}

describe('RingStageRunner in an in-process ring', () => {
  it('a 3-stage ring generates exactly what one stage holding every layer does', async () => {
    const one = await generateOn([['a', 0, L]], [3, 1, 4]);
    expect(one).toHaveLength(10);
    expect(
      await generateOn(
        [
          ['a', 0, 2],
          ['b', 2, 5],
          ['c', 5, 6],
        ],
        [3, 1, 4],
      ),
    ).toEqual(one);
    expect(
      await generateOn(
        [
          ['x', 0, 1],
          ['y', 1, 6],
        ],
        [3, 1, 4],
      ),
    ).toEqual(one);
  });

  it('frees the session on every stage when generation ends', async () => {
    const ring = new InProcessRing(L);
    ring.plan([
      ['a', 0, 3],
      ['b', 3, 6],
    ]);
    ring.submit(S1, spec({ maxTokens: 3 }));
    await ring.pump();
    for (const id of ['a', 'b']) expect(ring.stages.get(asPeerId(id))?.freed).toEqual([asSessionId('s1.1')]);
  });

  it.each([1, 4, 13, 25])('a re-plan after %i delivered messages still yields the undisturbed output', async (after) => {
    const undisturbed = await generateOn(
      [
        ['a', 0, 3],
        ['b', 3, 6],
      ],
      [2, 7],
      8,
    );
    const ring = new InProcessRing(L);
    ring.plan([
      ['a', 0, 3],
      ['b', 3, 6],
    ]);
    ring.submit(S1, spec({ prompt: [2, 7], maxTokens: 8 }));
    await ring.pump(after);
    ring.plan([
      ['c', 0, 1],
      ['d', 1, 4],
      ['e', 4, 6],
    ]); // e.g. b left, three peers remain
    await ring.pump();
    expect(ring.tokens.get(S1)).toEqual(undisturbed);
    expect(ring.ends).toMatchObject([{ type: 'finished', reason: 'length' }]);
  });

  it('recovers from a failing stage by re-submitting, with identical output', async () => {
    const undisturbed = await generateOn(
      [
        ['a', 0, 3],
        ['b', 3, 6],
      ],
      [5],
      6,
    );
    const ring = new InProcessRing(L);
    ring.plan([
      ['a', 0, 3],
      ['b', 3, 6],
    ]);
    ring.submit(S1, spec({ prompt: [5], maxTokens: 6 }));
    await ring.pump(9);
    (ring.stages.get(asPeerId('b')) as FakeStage).failNext = true;
    await ring.pump();
    expect(ring.ends).toEqual([]); // waiting for a new ring, not silently gone
    ring.now += 5000;
    ring.apply({ type: 'tick', now: ring.now }); // no new plan came: retry on the current ring
    await ring.pump();
    expect(ring.tokens.get(S1)).toEqual(undisturbed);
    expect(ring.ends).toMatchObject([{ type: 'finished', reason: 'length' }]);
  });

  it('runs eight interleaved sessions to the same outputs as one after another', async () => {
    const prompts = Array.from({ length: 8 }, (_, i) => [i + 1, (i * 7) % 5]);
    const alone = [];
    for (const p of prompts)
      alone.push(
        await generateOn(
          [
            ['a', 0, 2],
            ['b', 2, 4],
            ['c', 4, 6],
          ],
          p,
          7,
        ),
      );
    const ring = new InProcessRing(L);
    ring.plan([
      ['a', 0, 2],
      ['b', 2, 4],
      ['c', 4, 6],
    ]);
    prompts.forEach((p, i) => ring.submit(asSessionId(`q${i}`), spec({ prompt: p, maxTokens: 7 })));
    await ring.pump();
    expect(prompts.map((_, i) => ring.tokens.get(asSessionId(`q${i}`)))).toEqual(alone);
    expect(ring.ends).toHaveLength(8);
  });
});

describe('RingStageRunner on its own', () => {
  const session = asSessionId('s.1');
  const init = { replyTo: ME, maxTokens: 5, stop: [], sampling: { temperature: 0, topP: 1, topK: 0, seed: 0 } };

  function middle(now: { t: number }): { runner: RingStageRunner; sent: [string, RingMessage][]; stage: FakeStage } {
    const sent: [string, RingMessage][] = [];
    const stage = new FakeStage({ start: 2, end: 4 }, L);
    const runner = new RingStageRunner({
      self: asPeerId('b'),
      stage,
      numLayers: L,
      idleMs: 1000,
      send: (to, m) => sent.push([to, m]),
      clock: { now: () => now.t },
    });
    runner.setPlan(1, ['a', 'b', 'c'].map(asPeerId));
    return { runner, sent, stage };
  }
  const A = asPeerId('a');
  const act = (step: number, epoch = 1, withInit = false): RingMessage => ({
    type: 'activation',
    session,
    epoch,
    step,
    seqLen: 1,
    hidden: Float32Array.of(5),
    ...(withInit ? { init } : {}),
  });

  it('forwards hidden states to the next stage, carrying init only on the first frame', async () => {
    const { runner, sent } = middle({ t: 0 });
    await runner.handle(act(0, 1, true), A);
    await runner.handle(act(1), A);
    expect(sent.map(([to, m]) => [to, m.type, 'init' in m])).toEqual([
      ['c', 'activation', true],
      ['c', 'activation', false],
    ]);
  });

  it.each([
    { name: 'wrong step', frames: [act(0, 1, true), act(2)], reason: 'wrong-step' },
    { name: 'stale epoch', frames: [act(0, 0, true)], reason: 'stale-epoch' },
    { name: 'unknown session', frames: [act(3)], reason: 'unknown-session' },
    {
      name: 'a prefill on a middle stage',
      frames: [{ type: 'prefill', session, epoch: 1, step: 0, tokens: [1], init } as RingMessage],
      reason: 'not-for-stage',
    },
  ])('drops a frame with $name and never runs it', async ({ frames, reason }) => {
    const { runner, stage } = middle({ t: 0 });
    const outcomes = [];
    for (const f of frames) outcomes.push(await runner.handle(f, f.type === 'prefill' ? ME : A));
    expect(outcomes.at(-1)).toMatchObject({ kind: 'dropped', reason });
    expect(stage.runs).toBe(frames.length - 1);
  });

  it.each([
    { name: 'an activation from a peer that is not the previous stage', frame: () => act(0, 1, true), from: 'c' },
    { name: 'an activation from the requester', frame: () => act(0, 1, true), from: 'me' },
  ])('drops $name as wrong-sender and never runs it', async ({ frame, from }) => {
    const { runner, stage } = middle({ t: 0 });
    expect(await runner.handle(frame(), asPeerId(from))).toMatchObject({ kind: 'dropped', reason: 'wrong-sender' });
    expect(stage.runs).toBe(0);
  });

  it("lets only the session's requester end it", async () => {
    const { runner, stage } = middle({ t: 0 });
    await runner.handle(act(0, 1, true), A);
    expect(await runner.handle({ type: 'end', session, reason: 'done' }, asPeerId('c'))).toMatchObject({ kind: 'dropped', reason: 'wrong-sender' });
    expect(stage.freed).toEqual([]);
    expect(await runner.handle({ type: 'end', session, reason: 'done' }, ME)).toEqual({ kind: 'freed' });
    expect(stage.freed).toEqual([session]);
  });

  it('answers a session over its limits with end(busy) to its requester and never runs it', async () => {
    const sent: [string, RingMessage][] = [];
    const stage = new FakeStage({ start: 2, end: 4 }, L);
    const runner = new RingStageRunner({
      self: asPeerId('b'),
      stage,
      numLayers: L,
      idleMs: 1000,
      send: (to, m) => sent.push([to, m]),
      clock: { now: () => 0 },
      limits: { maxSessions: 1, maxSessionsPerRequester: 1, kvTokens: 1000 },
    });
    runner.setPlan(1, ['a', 'b', 'c'].map(asPeerId));
    await runner.handle(act(0, 1, true), A);
    const other = asSessionId('t.1');
    expect(await runner.handle({ ...act(0, 1, true), session: other } as RingMessage, A)).toMatchObject({ kind: 'dropped', reason: 'busy' });
    expect(sent.at(-1)).toEqual([ME, { type: 'end', session: other, reason: 'busy' }]);
    expect(stage.runs).toBe(1);
  });

  it('evicts an idle session on a fake clock, frees its cache and tells the requester', async () => {
    const now = { t: 0 };
    const { runner, sent, stage } = middle(now);
    await runner.handle(act(0, 1, true), A);
    now.t = 999;
    expect(runner.evictIdle()).toEqual([]);
    now.t = 1000;
    expect(runner.evictIdle()).toEqual([session]);
    expect(stage.freed).toEqual([session]);
    expect(sent.at(-1)).toEqual([ME, { type: 'end', session, reason: 'evicted' }]);
  });

  it('frees every held session when its plan moves to a new epoch', async () => {
    const { runner, stage } = middle({ t: 0 });
    await runner.handle(act(0, 1, true), A);
    runner.setPlan(2, ['a', 'b'].map(asPeerId));
    expect(stage.freed).toEqual([session]);
  });
});
