import { describe, expect, it } from 'vitest';
import { asPeerId, asSessionId, type PeerId } from '../../../shared/ids.ts';
import type { RingMessage } from '../../../shared/ring/messages.ts';
import { RingRequester, type RequesterClock } from '../../../shared/ring/ring-requester.ts';
import { RingStageRunner } from '../../../shared/ring/stage-runner.ts';
import { NoRingError } from '../../../shared/ring/errors.ts';
import type { TokenEvent } from '../../../shared/ring/requester.ts';
import { FakeStage } from './fake-stage.ts';
import { InProcessRing } from './in-process-ring.ts';
import { CONFIG, S1, spec } from './harness.ts';

const L = 6;

/** Timers that fire only when the test advances time. */
class FakeClock implements RequesterClock {
  t = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private ids = 0;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.ids;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== handle);
  }
  advance(ms: number): void {
    this.t += ms;
    for (;;) {
      const due = this.timers.filter((x) => x.at <= this.t).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) return;
      this.clearTimeout(due.id);
      due.fn();
    }
  }
}

/** Runners for `ranges` and a requester, wired through asynchronous in-process delivery. */
function setup(ranges: [string, number, number][]) {
  const clock = new FakeClock();
  const stages = new Map<PeerId, FakeStage>();
  const runners = new Map<PeerId, RingStageRunner>();
  let n = 0;
  const deliverFrom =
    (from: PeerId) =>
    (to: PeerId, message: RingMessage): void => {
      queueMicrotask(() => {
        if (to === CONFIG.self) requester.onMessage(message, from);
        else void runners.get(to)?.handle(message, from);
      });
    };
  const requester = new RingRequester({
    config: CONFIG,
    send: deliverFrom(CONFIG.self),
    clock,
    newSessionId: () => asSessionId(`r${++n}`),
    pickSeed: () => 1,
  });
  const ring = ranges.map(([id]) => asPeerId(id));
  for (const [id, start, end] of ranges) {
    const stage = new FakeStage({ start, end }, L);
    const runner = new RingStageRunner({ self: asPeerId(id), stage, numLayers: L, idleMs: 60_000, send: deliverFrom(asPeerId(id)), clock });
    runner.setPlan(1, ring);
    stages.set(asPeerId(id), stage);
    runners.set(asPeerId(id), runner);
  }
  return { clock, requester, stages, plan: () => requester.onPlan(1, ring) };
}

/** Lets every queued microtask (in-process deliveries) run. */
const flush = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

async function collect(events: AsyncIterable<TokenEvent>): Promise<TokenEvent[]> {
  const out: TokenEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

async function reference(prompt: number[], maxTokens: number): Promise<number[]> {
  const ring = new InProcessRing(L);
  ring.plan([['solo', 0, L]]);
  ring.submit(S1, spec({ prompt, maxTokens }));
  await ring.pump();
  return ring.tokens.get(S1) ?? [];
}

describe('RingRequester', () => {
  it('streams the tokens of a 3-stage ring, then one end event', async () => {
    const { requester, plan } = setup([
      ['a', 0, 2],
      ['b', 2, 4],
      ['c', 4, 6],
    ]);
    plan();
    const events = await collect(requester.generate([3, 1, 4], { maxTokens: 10 }));
    const want = await reference([3, 1, 4], 10);
    expect(events).toEqual([...want.map((id, step) => ({ kind: 'token', step, id })), { kind: 'end', reason: 'length', tokens: want }]);
  });

  it('runs concurrent generate() calls to the outputs each gives alone', async () => {
    const { requester, plan } = setup([
      ['a', 0, 3],
      ['b', 3, 6],
    ]);
    plan();
    const prompts = [[1], [2, 2], [9, 8, 7], [4]];
    const results = await Promise.all(prompts.map((p) => collect(requester.generate(p, { maxTokens: 5 }))));
    for (const [i, p] of prompts.entries()) expect(results[i]?.at(-1)).toEqual({ kind: 'end', reason: 'length', tokens: await reference(p, 5) });
  });

  it('ends with a stop id, reporting it', async () => {
    const { requester, plan } = setup([['a', 0, 6]]);
    plan();
    const want = await reference([3, 1, 4], 10);
    const stop = want[2] as number;
    const events = await collect(requester.generate([3, 1, 4], { maxTokens: 10, stop: [stop] }));
    const cut = want.indexOf(stop);
    expect(events.at(-1)).toEqual({ kind: 'end', reason: 'stop', tokens: want.slice(0, cut), stopToken: stop });
  });

  it('throws NoRingError when no ring becomes ready in time', async () => {
    const { requester, clock } = setup([]);
    const it = requester.generate([1], { maxTokens: 3 })[Symbol.asyncIterator]();
    const next = it.next();
    clock.advance(CONFIG.replanWaitMs);
    await expect(next).rejects.toBeInstanceOf(NoRingError);
  });

  it('an abort ends the stream as cancelled and frees every stage', async () => {
    const { requester, plan, stages } = setup([
      ['a', 0, 3],
      ['b', 3, 6],
    ]);
    plan();
    const abort = new AbortController();
    const events: TokenEvent[] = [];
    for await (const e of requester.generate([5], { maxTokens: 50, signal: abort.signal })) {
      events.push(e);
      if (events.length === 2) abort.abort();
    }
    expect(events.at(-1)).toMatchObject({ kind: 'end', reason: 'cancelled' });
    await flush();
    for (const s of stages.values()) expect(s.freed).toEqual([asSessionId('r1.1')]);
  });

  it('breaking out of the loop cancels the request on the ring', async () => {
    const { requester, plan, stages } = setup([['a', 0, 6]]);
    plan();
    for await (const e of requester.generate([5], { maxTokens: 50 })) if (e.kind === 'token') break;
    await flush();
    expect(stages.get(asPeerId('a'))?.freed).toEqual([asSessionId('r1.1')]);
  });
});
