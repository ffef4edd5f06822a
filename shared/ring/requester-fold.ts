// The requester's ring-session state machine as a pure fold (docs/ring.md, "Sessions"): apply(event, state) →
// {state, effects}. Every request ends with `finished` or `failed` — never silence: a running
// request must see a token within stepTimeoutMs, a waiting one a ring within replanWaitMs, and
// each failure spends one retry; whatever happens, its first token must come within firstTokenMs
// and each next one within nextTokenMs (docs/ring.md, "Deadlines").
import type { SessionId } from '../ids.ts';
import { DeadlineExceededError, NoRingError, RingBusyError, RingTimeoutError } from './errors.ts';
import { progressLimitMs } from './requester-state.ts';
import type { RequestState, RequesterEvent, RequesterState, RequesterStep } from './requester-state.ts';
import { endOnStages, fail, finish, giveUp, Step, submit } from './requester-step.ts';

export { wireSessionId } from './requester-step.ts';

export function applyRequesterEvent(event: RequesterEvent, state: RequesterState): RequesterStep {
  if (event.type === 'plan-changed') return planChanged(event, state);
  if (event.type === 'stage-failed' && event.peer !== undefined && !state.lost.includes(event.peer)) {
    // A lost peer takes its ring out of the choice until the next plan (but for the re-submission
    // after the re-plan wait, when no other ring came): its sessions fail over.
    state = { ...state, lost: [...state.lost, event.peer] };
  }
  const step = new Step(state);
  switch (event.type) {
    case 'submitted': {
      if (state.requests.has(event.session)) return step.drop('duplicate-session', `session ${event.session} is already in flight`);
      const request: RequestState = {
        id: event.session,
        spec: event.spec,
        generated: [],
        verified: 0,
        audit: false,
        phase: 'waiting',
        attempt: 0,
        wire: null,
        epoch: -1,
        stages: [],
        failures: 0,
        since: event.now,
        progressAt: event.now,
      };
      const ring = step.pick();
      if (ring === null) step.requests.set(event.session, request);
      else submit(step, request, state.epoch, ring, event.now);
      return step.done();
    }
    case 'token-received': {
      const r = byWire(state, event.session);
      if (r === undefined) return step.drop('unknown-session', `token for ${event.session}, which is not a current submission`);
      const last = r.stages[r.stages.length - 1];
      if (event.from !== undefined && event.from !== last)
        return step.drop('wrong-sender', `token for ${event.session} from ${event.from}, expected its last stage ${String(last)}`);
      if (event.epoch !== r.epoch) return step.drop('stale-epoch', `token of epoch ${event.epoch} for ${event.session}, expected ${r.epoch}`);
      if (event.step !== r.generated.length || r.phase !== 'running') {
        return step.drop('wrong-step', `token of step ${event.step} for ${event.session}, expected ${r.generated.length}`);
      }
      if (r.audit) {
        // Held until verified; the stages keep the session until then (a failed step replays).
        const stop = r.spec.stop.includes(event.tokenId);
        const generated = stop ? r.generated : [...r.generated, event.tokenId];
        const last = stop || generated.length >= r.spec.maxTokens;
        step.requests.set(r.id, {
          ...r,
          generated,
          ...(stop ? { stopToken: event.tokenId } : {}),
          phase: last ? 'verifying' : 'running',
          since: event.now,
          progressAt: event.now,
        });
        return step.done();
      }
      if (r.spec.stop.includes(event.tokenId)) {
        endOnStages(step, r);
        finish(step, r, { type: 'finished', session: r.id, reason: 'stop', tokens: r.generated, stopToken: event.tokenId });
        return step.done();
      }
      const generated = [...r.generated, event.tokenId];
      step.effects.push({ type: 'emit-token', session: r.id, step: event.step, tokenId: event.tokenId });
      if (generated.length >= r.spec.maxTokens) {
        endOnStages(step, r);
        finish(step, r, { type: 'finished', session: r.id, reason: 'length', tokens: generated });
      } else {
        step.requests.set(r.id, { ...r, generated, verified: generated.length, since: event.now, progressAt: event.now });
      }
      return step.done();
    }
    case 'verified': {
      const r = byWire(state, event.session);
      if (r === undefined || !r.audit) return step.drop('unknown-session', `verification of ${event.session}, which is not a current audited submission`);
      verify(step, r, event.upTo);
      return step.done();
    }
    case 'audit-failed': {
      const r = byWire(state, event.session);
      if (r === undefined || !r.audit) return step.drop('unknown-session', `failed audit of ${event.session}, which is not a current audited submission`);
      fail(step, r, `step ${event.step} failed verification: ${event.reason}`, event.now);
      return step.done();
    }
    case 'stage-failed': {
      const hit = [...state.requests.values()].filter(
        (r) => r.phase !== 'waiting' && (event.session !== undefined ? r.wire === event.session : event.peer !== undefined && r.stages.includes(event.peer)),
      );
      if (hit.length === 0) return step.drop('unknown-session', `failure (${event.reason}) matches no running submission`);
      const from = event.from;
      if (from !== undefined && hit.some((r) => !r.stages.includes(from)))
        return step.drop('wrong-sender', `failure report from ${from}, which is no stage of that submission`);
      for (const r of hit) fail(step, r, event.reason, event.now);
      return step.done();
    }
    case 'ended': {
      const r = byWire(state, event.session);
      if (r === undefined) return step.drop('unknown-session', `end of ${event.session}, which is not a current submission`);
      if (event.from !== undefined && !r.stages.includes(event.from))
        return step.drop('wrong-sender', `end of ${event.session} from ${event.from}, which is no stage of it`);
      if (event.reason === 'busy') {
        // A stage at its session or KV limit: this ring would refuse again at once, but a replica
        // ring may have room (within the retry budget); with none, the caller hears RingBusyError.
        endOnStages(step, r);
        const elsewhere = r.failures < state.config.maxRetries ? step.pick([...state.lost, ...r.stages]) : null;
        if (elsewhere !== null) submit(step, { ...r, failures: r.failures + 1 }, state.epoch, elsewhere, event.now);
        else giveUp(step, r, new RingBusyError(r.id, event.from ?? 'a stage'));
        return step.done();
      }
      fail(step, r, `a stage ended the session: ${event.reason}`, event.now);
      return step.done();
    }
    case 'cancelled': {
      const r = state.requests.get(event.session);
      if (r === undefined) return step.drop('unknown-session', `cancel of ${event.session}, which is not in flight`);
      if (r.phase !== 'waiting') endOnStages(step, r);
      finish(step, r, { type: 'finished', session: r.id, reason: 'cancelled', tokens: r.generated.slice(0, r.verified) });
      return step.done();
    }
    case 'tick': {
      for (const r of state.requests.values()) tick(step, r, event.now);
      return step.done();
    }
  }
}

/**
 * New ready rings. The same epoch may come several times: first with none (plan known, stages
 * still loading), then again each time one more of its rings is ready; waiting requests go to
 * them, running ones stay where they are. A newer epoch restarts every running request: each
 * stage may hold different layers now (the replay of prompt + tokens keeps greedy output the same).
 */
function planChanged(event: Extract<RequesterEvent, { type: 'plan-changed' }>, state: RequesterState): RequesterStep {
  const newer = event.epoch > state.epoch;
  const lost = newer ? [] : state.lost;
  const rings = (event.rings ?? [event.ring]).filter((ring) => ring.length > 0);
  // Within an epoch rings only become ready: a list no longer than the known one is not news.
  if (event.epoch < state.epoch || (!newer && rings.length <= state.rings.length)) {
    return new Step(state).drop('stale-plan', `plan epoch ${event.epoch}, already at ${state.epoch}`);
  }
  const step = new Step({ ...state, epoch: event.epoch, rings, lost });
  for (const r of state.requests.values()) {
    if (!newer && r.phase !== 'waiting') continue;
    if (r.phase !== 'waiting') endOnStages(step, r);
    const ring = step.pick();
    if (ring !== null) submit(step, r, event.epoch, ring, event.now);
    else step.requests.set(r.id, { ...r, phase: 'waiting', since: event.now });
  }
  return step.done();
}

/** Checks one request's deadline and timeouts. */
function tick(step: Step, r: RequestState, now: number): void {
  const { config, rings, epoch } = step.state;
  const gap = progressLimitMs(config, r);
  if (r.spec.deadlineAt !== undefined && now >= r.spec.deadlineAt) {
    if (r.phase !== 'waiting') endOnStages(step, r);
    giveUp(step, r, new DeadlineExceededError(r.id, r.spec.deadlineAt, r.verified));
  } else if (gap !== undefined && now - r.progressAt >= gap) {
    // Across retries and re-plans: however the ring fails, the caller hears within this bound.
    if (r.phase !== 'waiting') endOnStages(step, r);
    const noRing = r.phase === 'waiting' && rings.length === 0;
    giveUp(step, r, noRing ? new NoRingError(r.id, now - r.since) : new RingTimeoutError(r.id, r.generated.length === 0 ? 'first' : 'next', gap, r.verified));
  } else if (r.phase !== 'waiting' && now - r.since >= config.stepTimeoutMs) {
    fail(step, r, r.phase === 'running' ? `no token within ${config.stepTimeoutMs} ms` : `no verification within ${config.stepTimeoutMs} ms`, now);
  } else if (r.phase === 'waiting' && now - r.since >= config.replanWaitMs) {
    // No new ring came: try again on a current one (even through a peer lost meanwhile: its link
    // may be back), or give up if there is none.
    const ring = step.pick([]);
    if (ring !== null) submit(step, r, epoch, ring, now);
    else giveUp(step, r, new NoRingError(r.id, now - r.since));
  }
}

/** Hands the consumer the tokens of verified steps; finishes an audited request once all are. */
function verify(step: Step, r: RequestState, upTo: number): void {
  const made = r.generated.length + (r.stopToken === undefined ? 0 : 1);
  const through = Math.min(upTo, made);
  const emitted = Math.min(through, r.generated.length);
  for (let i = r.verified; i < emitted; i++) step.effects.push({ type: 'emit-token', session: r.id, step: i, tokenId: r.generated[i] as number });
  const next = { ...r, verified: Math.max(r.verified, emitted) };
  if (r.phase !== 'verifying' || through < made) {
    step.requests.set(r.id, next);
    return;
  }
  endOnStages(step, next);
  finish(
    step,
    next,
    r.stopToken === undefined
      ? { type: 'finished', session: r.id, reason: 'length', tokens: r.generated }
      : { type: 'finished', session: r.id, reason: 'stop', tokens: r.generated, stopToken: r.stopToken },
  );
}

function byWire(state: RequesterState, wire: SessionId): RequestState | undefined {
  for (const r of state.requests.values()) if (r.phase !== 'waiting' && r.wire === wire) return r;
  return undefined;
}
