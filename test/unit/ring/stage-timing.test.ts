import { describe, expect, it } from 'vitest';
import { asPeerId, asSessionId } from '../../../shared/ids.ts';
import { StageTiming, TIMING_SAMPLES } from '../../../shared/ring/stage-timing.ts';

const [A, B, C] = ['a', 'b', 'c'].map(asPeerId) as [ReturnType<typeof asPeerId>, ReturnType<typeof asPeerId>, ReturnType<typeof asPeerId>];
const W = asSessionId('w.1');
const ranges = [
  { start: 0, end: 2 },
  { start: 2, end: 6 },
  { start: 6, end: 8 },
];

describe('stage timing from audit arrivals', () => {
  it("times each stage after the first as the gap since the previous stage's audit, per layer", () => {
    const t = new StageTiming();
    t.follow(W, [A, B, C], ranges);
    // step 0: a at 0, b at 40 (4 layers → 10 ms/layer), c at 50 (2 layers → 5 ms/layer)
    t.record(W, 0, 0, 0);
    t.record(W, 0, 1, 40);
    t.record(W, 0, 2, 50);
    // step 1 arrives out of order: c before b
    t.record(W, 1, 0, 100);
    t.record(W, 1, 2, 160);
    t.record(W, 1, 1, 148);
    const m = new Map(t.measured().map((x) => [x.peer, x]));
    expect(m.has(A)).toBe(false); // stage 0 has nothing before it
    expect(m.get(B)).toEqual({ peer: B, msPerLayer: 11, samples: 2 }); // 10 and 12
    expect(m.get(C)).toEqual({ peer: C, msPerLayer: 5.5, samples: 2 }); // 5 and 6
  });

  it('ignores audits of submissions it does not follow and keeps a bounded window of samples', () => {
    const t = new StageTiming();
    t.record(W, 0, 1, 5);
    expect(t.measured()).toEqual([]);
    t.follow(W, [A, B], ranges.slice(0, 2));
    for (let step = 0; step < 3 * TIMING_SAMPLES; step++) {
      t.record(W, step, 0, step * 100);
      t.record(W, step, 1, step * 100 + (step < TIMING_SAMPLES ? 400 : 4));
    }
    expect(t.measured()).toEqual([{ peer: B, msPerLayer: 1, samples: TIMING_SAMPLES }]); // only the recent, fast steps
    t.forget(W);
    t.record(W, 999, 0, 0);
    t.record(W, 999, 1, 1000);
    expect(t.measured()[0]?.samples).toBe(TIMING_SAMPLES);
  });
});
