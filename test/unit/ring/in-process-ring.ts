// Runs the requester fold and RingStageRunners over an in-process message queue: the whole ring
// session logic end to end, without a network. Messages are delivered one at a time, in order.
import { asPeerId, type PeerId, type SessionId } from '../../../shared/ids.ts';
import type { RingMessage } from '../../../shared/ring/messages.ts';
import { applyRequesterEvent } from '../../../shared/ring/requester-fold.ts';
import {
  initialRequesterState,
  type RequestSpec,
  type RequesterEffect,
  type RequesterEvent,
  type RequesterState,
} from '../../../shared/ring/requester-state.ts';
import { RingStageRunner } from '../../../shared/ring/stage-runner.ts';
import { FakeStage } from './fake-stage.ts';
import { CONFIG, ME } from './harness.ts';

export class InProcessRing {
  now = 0;
  requester: RequesterState = initialRequesterState(CONFIG);
  readonly runners = new Map<PeerId, RingStageRunner>();
  readonly stages = new Map<PeerId, FakeStage>();
  readonly queue: { from: PeerId; to: PeerId; message: RingMessage }[] = [];
  readonly tokens = new Map<SessionId, number[]>();
  readonly ends: RequesterEffect[] = [];
  readonly drops: string[] = [];
  private epoch = 0;

  constructor(private readonly numLayers: number) {}

  /** Starts a new epoch: each [peer, start, end] loads a fresh stage; the requester learns the ring. */
  plan(ranges: readonly (readonly [string, number, number])[]): void {
    this.epoch++;
    const ring = ranges.map(([id]) => asPeerId(id));
    for (const [id, start, end] of ranges) {
      const peer = asPeerId(id);
      const stage = new FakeStage({ start, end }, this.numLayers);
      const runner = new RingStageRunner({
        self: peer,
        stage,
        numLayers: this.numLayers,
        idleMs: 60_000,
        send: (to, message) => this.queue.push({ from: peer, to, message }),
        clock: { now: () => this.now },
      });
      runner.setPlan(this.epoch, ring);
      this.stages.set(peer, stage);
      this.runners.set(peer, runner);
    }
    this.apply({ type: 'plan-changed', now: this.now, epoch: this.epoch, ring });
  }

  submit(session: SessionId, spec: RequestSpec): void {
    this.apply({ type: 'submitted', now: this.now, session, spec });
  }

  apply(event: RequesterEvent): void {
    const r = applyRequesterEvent(event, this.requester);
    this.requester = r.state;
    for (const e of r.effects) {
      if (e.type === 'send-prefill') this.queue.push({ from: ME, to: e.to, message: e.message });
      else if (e.type === 'send-end') for (const to of e.to) this.queue.push({ from: ME, to, message: { type: 'end', session: e.session, reason: 'done' } });
      else if (e.type === 'emit-token') this.tokens.set(e.session, [...(this.tokens.get(e.session) ?? []), e.tokenId]);
      else if (e.type === 'dropped') this.drops.push(e.reason);
      else this.ends.push(e);
    }
  }

  /** Delivers up to `limit` messages (default: until the queue is empty). */
  async pump(limit = Infinity): Promise<void> {
    for (let n = 0; n < limit; n++) {
      if (this.queue.length === 0) await Promise.all([...this.runners.values()].map((r) => r.whenIdle()));
      if (this.queue.length === 0) return;
      const { from, to, message } = this.queue.shift() as { from: PeerId; to: PeerId; message: RingMessage };
      this.now += 1;
      if (to === ME) this.deliverToRequester(message, from);
      else {
        const outcome = await this.runners.get(to)?.handle(message, from);
        if (outcome?.kind === 'dropped') this.drops.push(outcome.reason);
      }
    }
  }

  private deliverToRequester(m: RingMessage, from: PeerId): void {
    if (m.type === 'token') this.apply({ type: 'token-received', now: this.now, session: m.session, epoch: m.epoch, step: m.step, tokenId: m.tokenId, from });
    else if (m.type === 'failure') this.apply({ type: 'stage-failed', now: this.now, session: m.session, reason: m.message, from });
    else if (m.type === 'end') this.apply({ type: 'ended', now: this.now, session: m.session, reason: m.reason, from });
  }
}
