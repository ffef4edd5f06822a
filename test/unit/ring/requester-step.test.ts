// The actions the requester fold's events share (shared/ring/requester-step.ts), on a request
// directly; the fold around them: requester-fold.test.ts.
import { describe, expect, it } from 'vitest';
import { RetriesExhaustedError } from '../../../shared/ring/errors.ts';
import { initialRequesterState, type RequestState } from '../../../shared/ring/requester-state.ts';
import { fail, giveUp, rewound, Step, submit, wireSessionId } from '../../../shared/ring/requester-step.ts';
import { A, B, C, CONFIG, D, ME, S1, spec, wire } from './harness.ts';

const running = (over: Partial<RequestState> = {}): RequestState => ({
  id: S1,
  spec: spec(),
  generated: [11, 12],
  verified: 2,
  audit: false,
  phase: 'running',
  attempt: 1,
  wire: wire('s1.1'),
  epoch: 1,
  stages: [A, B],
  failures: 0,
  since: 0,
  progressAt: 0,
  ...over,
});
const twoRings = {
  ...initialRequesterState(CONFIG),
  epoch: 1,
  rings: [
    [A, B],
    [C, D],
  ],
};

describe('requester step', () => {
  it('names each submission of a request apart', () => {
    expect(wireSessionId(S1, 3)).toBe(wire('s1.3'));
  });

  it('rewinds a request to its verified tokens, dropping an unverified stop token', () => {
    const r = rewound(running({ generated: [11, 12, 13], verified: 1, stopToken: 2 }));
    expect(r.generated).toEqual([11]);
    expect(r.stopToken).toBeUndefined();
  });

  it('submits the prompt and the tokens so far to stage 0 under a new wire id', () => {
    const step = new Step(twoRings);
    submit(step, running(), 1, [C, D], 5);
    const { state, effects } = step.done();
    expect(state.requests.get(S1)).toMatchObject({ phase: 'running', attempt: 2, wire: wire('s1.2'), stages: [C, D], since: 5 });
    expect(effects).toEqual([
      {
        type: 'send-prefill',
        to: C,
        message: {
          type: 'prefill',
          session: wire('s1.2'),
          epoch: 1,
          step: 2,
          tokens: [1, 5, 9, 11, 12],
          init: { replyTo: ME, maxTokens: 4, stop: [], sampling: spec().sampling },
        },
      },
    ]);
  });

  it('fails over to another ring, not the one that failed, and spends a retry', () => {
    const step = new Step(twoRings);
    fail(step, running(), 'lost', 7);
    const { state, effects } = step.done();
    expect(effects.map((e) => e.type)).toEqual(['send-end', 'send-prefill']);
    expect(state.requests.get(S1)).toMatchObject({ failures: 1, stages: [C, D] });
  });

  it('waits for a ring when only the failed one is left, and gives up past the retries', () => {
    const alone = new Step({ ...twoRings, rings: [[A, B]] });
    fail(alone, running(), 'lost', 7);
    expect(alone.done().state.requests.get(S1)).toMatchObject({ phase: 'waiting', failures: 1, since: 7 });

    const spent = new Step(twoRings);
    fail(spent, running({ failures: CONFIG.maxRetries }), 'lost', 7);
    const last = spent.done().effects.at(-1);
    expect(last).toMatchObject({ type: 'failed', session: S1, tokens: [11, 12] });
    expect(last?.type === 'failed' && last.error).toBeInstanceOf(RetriesExhaustedError);
  });

  it('gives up with the verified tokens only', () => {
    const step = new Step(twoRings);
    giveUp(step, running({ generated: [11, 12, 13], verified: 1 }), new RetriesExhaustedError(S1, 3, 'x'));
    const { state, effects } = step.done();
    expect(state.requests.size).toBe(0);
    expect(effects).toMatchObject([{ type: 'failed', tokens: [11] }]);
  });
});
