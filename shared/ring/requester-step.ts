// One application of the requester fold (requester-fold.ts, docs/ring.md "Sessions"): its scratch
// state and the actions several events take on a request: submit it to a ring, count a failure
// against its retries, end it on its stages, finish it or give up. Pure.
import type { RingmeshError } from '../errors.ts';
import { asSessionId, type PeerId, type SessionId } from '../ids.ts';
import { RetriesExhaustedError } from './errors.ts';
import { pickRing } from './ring-choice.ts';
import type { RequestSpec, RequestState, RequesterEffect, RequesterState, RequesterStep } from './requester-state.ts';

/** Wire session id of one submission of a request: a new one per attempt, so frames of an
 * abandoned attempt can never be taken for the current one. */
export function wireSessionId(session: SessionId, attempt: number): SessionId {
  return asSessionId(`${session}.${attempt}`);
}

/** Mutable scratch for one application; the fold returns fresh immutable state. */
export class Step {
  readonly requests: Map<SessionId, RequestState>;
  readonly effects: RequesterEffect[] = [];
  constructor(readonly state: RequesterState) {
    this.requests = new Map(state.requests);
  }
  done(): RequesterStep {
    return { state: { ...this.state, requests: this.requests }, effects: this.effects };
  }
  /**
   * The ring for a submission now (where its tokens are expected soonest; ring-choice.ts) through none of `avoid` — by default
   * the peers lost this epoch; null: none.
   */
  pick(avoid: readonly PeerId[] = this.state.lost): readonly PeerId[] | null {
    const { rings, epoch, config } = this.state;
    const choice = {
      rings,
      epoch,
      self: config.self,
      ...(config.rttMs === undefined ? {} : { rttMs: config.rttMs }),
      ...(config.sessionMs === undefined ? {} : { sessionMs: config.sessionMs() }),
    };
    return pickRing(choice, this.requests.values(), avoid);
  }
  drop(reason: Extract<RequesterEffect, { type: 'dropped' }>['reason'], detail: string): RequesterStep {
    this.effects.push({ type: 'dropped', reason, detail });
    return this.done();
  }
}

/**
 * One failure of the current submission: spend a retry, then re-submit or wait for a new ring (a
 * failed audit evicts its culprit, so the ring it ran on is not worth another try at once).
 */
export function fail(step: Step, r: RequestState, reason: string, now: number): void {
  endOnStages(step, r);
  const failures = r.failures + 1;
  if (failures > step.state.config.maxRetries) {
    giveUp(step, r, new RetriesExhaustedError(r.id, failures, reason));
    return;
  }
  const { epoch } = step.state;
  // Another ready ring (a replica, or any ring of a newer plan) takes it at once; the ring it
  // failed on only after the re-plan wait (docs/ring.md, "Replica rings").
  const ring = step.pick(epoch > r.epoch ? step.state.lost : [...step.state.lost, ...r.stages]);
  if (ring !== null) submit(step, { ...r, failures }, epoch, ring, now);
  else step.requests.set(r.id, { ...rewound(r), failures, phase: 'waiting', since: now });
}

/** `r` back at its last verified step: tokens an audited submission made unverified are dropped. */
export function rewound(r: RequestState): RequestState {
  const { stopToken: _unverified, ...rest } = r;
  return { ...rest, generated: r.generated.slice(0, r.verified) };
}

/**
 * Sends prompt + tokens so far to stage 0 of `ring` as a fresh submission. Tokens an audited
 * submission made but did not get verified are dropped: the new submission makes them again.
 */
export function submit(step: Step, r: RequestState, epoch: number, ring: readonly PeerId[], now: number): void {
  const attempt = r.attempt + 1;
  const wire = wireSessionId(r.id, attempt);
  const audit = step.state.config.audit?.(ring) ?? false;
  r = rewound(r);
  step.requests.set(r.id, { ...r, audit, phase: 'running', attempt, wire, epoch, stages: ring, since: now });
  step.effects.push({
    type: 'send-prefill',
    to: ring[0] as PeerId,
    message: {
      type: 'prefill',
      session: wire,
      epoch,
      step: r.generated.length,
      tokens: [...r.spec.prompt, ...r.generated],
      init: initOf(r.spec, step.state.config.self, audit),
    },
  });
}

function initOf(spec: RequestSpec, self: PeerId, audit: boolean): Extract<RequesterEffect, { type: 'send-prefill' }>['message']['init'] {
  return { replyTo: self, maxTokens: spec.maxTokens, stop: spec.stop, sampling: spec.sampling, ...(audit ? { audit: true } : {}) };
}

export function endOnStages(step: Step, r: RequestState): void {
  if (r.wire !== null && r.stages.length > 0) step.effects.push({ type: 'send-end', to: r.stages, session: r.wire });
}

export function finish(step: Step, r: RequestState, effect: RequesterEffect): void {
  step.requests.delete(r.id);
  step.effects.push(effect);
}

export function giveUp(step: Step, r: RequestState, error: RingmeshError): void {
  finish(step, r, { type: 'failed', session: r.id, error, tokens: r.generated.slice(0, r.verified) });
}
