// Runs one stage of the ring: admits incoming ring messages (stage-sessions.ts), runs the engine's
// Stage, forwards hidden states to the next stage, and on the last stage picks the token and sends
// it to stage 0 (next step) and to the requester. Transport-agnostic: messages go out through the
// injected `send`, and come in through `handle` from whatever adapter decodes the wire frames.
import type { Stage, StageInput } from '../engine/engine.ts';
import type { PeerId, SessionId } from '../ids.ts';
import type { AuditOutput, RingMessage, RingSend, SessionInit } from './messages.ts';
import {
  admitFrame,
  DEFAULT_STAGE_LIMITS,
  endSession,
  enterEpoch,
  evictIdle,
  emptyStageSessions,
  type FrameDrop,
  type StageFrame,
  type StageLimits,
  type StageSessions,
} from './stage-sessions.ts';
import { pickStepToken, tokenLogprob, type PickStepToken } from './step-sampler.ts';

export interface RingStageRunnerOptions {
  readonly self: PeerId;
  readonly stage: Stage;
  readonly numLayers: number;
  readonly send: RingSend;
  readonly clock: { now(): number };
  /** Sessions with no frame for this long are evicted by `evictIdle`. */
  readonly idleMs: number;
  readonly pick?: PickStepToken;
  /** Sessions and KV this stage holds at most (default DEFAULT_STAGE_LIMITS). */
  readonly limits?: StageLimits;
}

/** What became of one incoming message (for logs and tests). */
export type HandleOutcome =
  | { readonly kind: 'ran' }
  | { readonly kind: 'freed' }
  | { readonly kind: 'dropped'; readonly reason: FrameDrop | 'not-for-stage' | 'wrong-sender'; readonly detail: string };

export class RingStageRunner {
  private sessions: StageSessions = emptyStageSessions;
  private ring: readonly PeerId[] = [];
  /** Per-session chain: a session's steps run in order, different sessions overlap. */
  private readonly chains = new Map<SessionId, Promise<void>>();
  /** What each held session was opened with (requester, sampling, limits). */
  private readonly initOf = new Map<SessionId, SessionInit>();

  constructor(private readonly opts: RingStageRunnerOptions) {}

  private get isFirst(): boolean {
    return this.opts.stage.range.start === 0;
  }

  private get isLast(): boolean {
    return this.opts.stage.range.end === this.opts.numLayers;
  }

  /** The stage serves `epoch` with this ring order: caches of other epochs are freed. */
  setPlan(epoch: number, ring: readonly PeerId[]): void {
    this.ring = ring;
    const r = enterEpoch(this.sessions, epoch);
    this.sessions = r.state;
    this.free(r.free);
  }

  /** Frees idle sessions' caches; returns them. Call it from a timer (idleMs / 2 apart, say). */
  evictIdle(): readonly SessionId[] {
    const r = evictIdle(this.sessions, this.opts.clock.now(), this.opts.idleMs);
    this.sessions = r.state;
    // Tell each requester, so it re-submits instead of waiting for its step timeout.
    const notify = r.free.flatMap((s) => {
      const init = this.initOf.get(s);
      return init === undefined ? [] : [[init.replyTo, s] as const];
    });
    this.free(r.free);
    for (const [to, session] of notify) this.opts.send(to, { type: 'end', session, reason: 'evicted' });
    return r.free;
  }

  /**
   * Admits a message synchronously (so arrival order decides step order), then runs it after the
   * session's previous step. Resolves when this message's work is done. `from` is the peer the
   * frame came from (this peer for local deliveries): each kind of frame is accepted only from the
   * one peer the plan says sends it, so a member outside the session cannot steer it.
   */
  handle(message: RingMessage, from: PeerId = this.opts.self): Promise<HandleOutcome> {
    const sender = this.senderProblem(message, from);
    if (sender !== null)
      return Promise.resolve({ kind: 'dropped', reason: 'wrong-sender', detail: `${message.session}: ${message.type} from ${from}, ${sender}` });
    if (message.type === 'end') {
      const r = endSession(this.sessions, message.session);
      this.sessions = r.state;
      this.free(r.free);
      return Promise.resolve({ kind: 'freed' });
    }
    if (message.type === 'failure' || message.type === 'audit') return Promise.resolve(this.notForStage(`${message.type} reports go to the requester`));
    let frame: StageFrame;
    let input: StageInput;
    if (message.type === 'prefill') {
      if (!this.isFirst) return Promise.resolve(this.notForStage('prefill sent to a stage that does not hold layer 0'));
      frame = { kind: 'first', session: message.session, epoch: message.epoch, step: message.step, init: message.init, tokens: message.tokens.length };
      input = { kind: 'tokens', ids: Int32Array.from(message.tokens) };
    } else if (message.type === 'token') {
      if (!this.isFirst) return Promise.resolve(this.notForStage('token sent to a stage that does not hold layer 0'));
      // The session's last token (stop id or maxTokens) reaches stage 0 only when stage 0 is also
      // the requester: there is no next step to run.
      const held = this.initOf.get(message.session);
      if (held !== undefined && (held.stop.includes(message.tokenId) || message.step + 1 >= held.maxTokens))
        return Promise.resolve(this.notForStage("the session's last token"));
      frame = { kind: 'next', session: message.session, epoch: message.epoch, step: message.step + 1 };
      input = { kind: 'tokens', ids: Int32Array.of(message.tokenId) };
    } else {
      if (this.isFirst) return Promise.resolve(this.notForStage('activation sent to the stage that holds layer 0'));
      frame =
        message.init !== undefined
          ? { kind: 'first', session: message.session, epoch: message.epoch, step: message.step, init: message.init, tokens: message.seqLen }
          : { kind: 'next', session: message.session, epoch: message.epoch, step: message.step };
      input = { kind: 'hidden', data: message.hidden, seqLen: message.seqLen };
    }
    const admitted = admitFrame(this.sessions, frame, this.opts.clock.now(), this.opts.limits ?? DEFAULT_STAGE_LIMITS);
    if (!admitted.accepted) {
      // A refused opening is answered, so the requester fails over or errors instead of waiting.
      if (admitted.reason === 'busy' && frame.kind === 'first') this.opts.send(frame.init.replyTo, { type: 'end', session: frame.session, reason: 'busy' });
      return Promise.resolve({ kind: 'dropped', reason: admitted.reason, detail: admitted.detail });
    }
    this.sessions = admitted.state;
    this.initOf.set(frame.session, admitted.session.init);
    const previous = this.chains.get(frame.session) ?? Promise.resolve();
    const run = previous
      .then(() => this.run(frame, input, admitted.session.init))
      // Anything else failing (a send that throws) ends the session here rather than leaving its
      // chain rejected; the requester notices through its step timeout and re-submits.
      .catch(() => this.drop(frame.session));
    this.chains.set(frame.session, run);
    return run.then(() => ({ kind: 'ran' }) as const);
  }

  private async run(frame: StageFrame, input: StageInput, init: SessionInit): Promise<void> {
    if (!this.sessions.sessions.has(frame.session)) return; // ended or evicted while queued
    const { session, epoch, step } = frame;
    let output;
    try {
      output = await this.opts.stage.run(session, input);
    } catch (error) {
      // Edge of the stage: the requester decides what happens next (retry on a new ring).
      this.drop(session);
      this.opts.send(init.replyTo, { type: 'failure', session, epoch, message: `stage ${this.opts.self}: ${String(error)}` });
      return;
    }
    if (output.kind === 'hidden') {
      const next = this.nextPeer();
      if (next === undefined) return;
      const seqLen = output.seqLen;
      this.opts.send(next, {
        type: 'activation',
        session,
        epoch,
        step,
        seqLen,
        hidden: output.data,
        ...(frame.kind === 'first' ? { init } : {}),
      });
      if (init.audit === true) this.audit(session, epoch, step, init, input, { kind: 'hidden', data: output.data, seqLen });
      return;
    }
    const tokenId = (this.opts.pick ?? pickStepToken)(output.data, init.sampling, step);
    const token = { type: 'token', session, epoch, step, tokenId, logprob: tokenLogprob(output.data, tokenId, output.logSumExp) } as const;
    if (init.stop.includes(tokenId) || step + 1 >= init.maxTokens) {
      this.opts.send(init.replyTo, token);
      if (init.audit === true) this.audit(session, epoch, step, init, input, { kind: 'token', tokenId });
      this.drop(session); // the requester frees the other stages
      return;
    }
    // Stage 0 first: its next step is the ring's critical path, the requester's copy is not. When
    // both are one peer, the link sends the (identical) message once.
    const first = this.ring[0];
    if (first === this.opts.self) void this.handle(token);
    else if (first !== undefined) this.opts.send(first, token);
    this.opts.send(init.replyTo, token);
    if (init.audit === true) this.audit(session, epoch, step, init, input, { kind: 'token', tokenId });
  }

  /** Audited session: tells the requester what this stage received and sent for `step`. */
  private audit(session: SessionId, epoch: number, step: number, init: SessionInit, input: StageInput, output: AuditOutput): void {
    const stage = this.ring.indexOf(this.opts.self);
    if (stage < 0) return;
    this.opts.send(init.replyTo, { type: 'audit', session, epoch, step, stage, input, output });
  }

  /** Resolves once no step of any session is queued or running (tests, graceful shutdown). */
  async whenIdle(): Promise<void> {
    for (;;) {
      const pending = [...this.chains.values()];
      await Promise.all(pending);
      // Work queued meanwhile (a single-stage ring feeds itself) adds new chains: wait for those too.
      if ([...this.chains.values()].every((p) => pending.includes(p))) return;
    }
  }

  /**
   * Null when `from` may send `message` to this stage, else why not: a prefill comes from the
   * requester it names, an activation from the previous stage, a token (stage 0's next input) from
   * the last stage, an end from the session's requester.
   */
  senderProblem(message: RingMessage, from: PeerId): string | null {
    switch (message.type) {
      case 'prefill':
        return from === message.init.replyTo ? null : `a prefill names requester ${message.init.replyTo}`;
      case 'activation': {
        const i = this.ring.indexOf(this.opts.self);
        const previous = i > 0 ? this.ring[i - 1] : undefined;
        return from === previous ? null : `activations come from the previous stage ${String(previous)}`;
      }
      case 'token': {
        const last = this.ring[this.ring.length - 1];
        return from === last ? null : `tokens come from the last stage ${String(last)}`;
      }
      case 'end': {
        const init = this.initOf.get(message.session);
        if (init === undefined) return null; // nothing held: an end changes nothing
        return from === init.replyTo ? null : `only its requester ${init.replyTo} ends it`;
      }
      case 'failure':
      case 'audit':
        return null;
    }
  }

  private nextPeer(): PeerId | undefined {
    const i = this.ring.indexOf(this.opts.self);
    return i < 0 ? undefined : this.ring[i + 1];
  }

  private drop(session: SessionId): void {
    const r = endSession(this.sessions, session);
    this.sessions = r.state;
    this.free(r.free);
  }

  private free(sessions: readonly SessionId[]): void {
    for (const s of sessions) {
      this.opts.stage.freeSession(s);
      this.chains.delete(s);
      this.initOf.delete(s);
    }
  }

  private notForStage(detail: string): HandleOutcome {
    return { kind: 'dropped', reason: 'not-for-stage', detail };
  }
}
