// The Requester (requester.ts) over any transport: drives the pure fold (requester-fold.ts) with
// real time and turns its effects into ring messages and async-iterator events. The network edge
// feeds it ready plans (`onPlan`), incoming ring messages (`onMessage`) and lost peers.
import type { PeerId, SessionId } from '../ids.ts';
import type { RingMessage, RingSend } from './messages.ts';
import { applyRequesterEvent } from './requester-fold.ts';
import {
  initialRequesterState,
  nextWakeAt,
  type DropReason,
  type RequesterConfig,
  type RequesterEffect,
  type RequesterEvent,
  type RequesterState,
} from './requester-state.ts';
import { toRequestSpec, type GenerateOptions, type ModelLimits, type Requester, type TokenEvent } from './requester.ts';

/** Time and timers, injected so tests drive timeouts without waiting. */
export interface RequesterClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface RingRequesterOptions {
  readonly config: RequesterConfig;
  readonly send: RingSend;
  readonly clock: RequesterClock;
  /** A fresh request id (unique for this requester). */
  readonly newSessionId: () => SessionId;
  /** A seed for requests that give none (inject a seeded rng for reproducible tests). */
  readonly pickSeed: () => number;
  /** When given, prompts outside the vocabulary or the context are refused at once. */
  readonly limits?: ModelLimits;
}

/** Events waiting for the consumer of one generate() call. */
class Channel {
  private readonly items: (TokenEvent | { error: unknown })[] = [];
  private waiter: (() => void) | null = null;
  closed = false;

  push(item: TokenEvent | { error: unknown }): void {
    this.items.push(item);
    this.waiter?.();
    this.waiter = null;
  }

  async next(): Promise<IteratorResult<TokenEvent>> {
    while (this.items.length === 0) {
      if (this.closed) return { done: true, value: undefined };
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
    const item = this.items.shift() as TokenEvent | { error: unknown };
    if ('error' in item) {
      this.closed = true;
      throw item.error;
    }
    if (item.kind === 'end') this.closed = true;
    return { done: false, value: item };
  }
}

export class RingRequester implements Requester {
  private state: RequesterState;
  private readonly channels = new Map<SessionId, Channel>();
  private timer: unknown = null;
  private lastDrop: DropReason | null = null;

  constructor(private readonly opts: RingRequesterOptions) {
    this.state = initialRequesterState(opts.config);
  }

  get peerId(): PeerId {
    return this.opts.config.self;
  }

  /** The ring of `epoch` is ready (empty: none can serve). */
  onPlan(epoch: number, ring: readonly PeerId[]): void {
    this.dispatch({ type: 'plan-changed', now: this.opts.clock.now(), epoch, ring });
  }

  /** These replica rings of `epoch` are ready (empty: none yet); later calls for it may add more. */
  onRings(epoch: number, rings: readonly (readonly PeerId[])[]): void {
    this.dispatch({ type: 'plan-changed', now: this.opts.clock.now(), epoch, ring: rings[0] ?? [], rings });
  }

  /** This requester's sessions in flight on the ring whose stage 0 is `head`. */
  load(head: PeerId): number {
    let n = 0;
    for (const r of this.state.requests.values()) if (r.phase !== 'waiting' && r.epoch === this.state.epoch && r.stages[0] === head) n++;
    return n;
  }

  /**
   * A ring message addressed to this requester, from `from` (checked against the submission's
   * stages). Returns why it was dropped, or null when it was taken.
   */
  onMessage(message: RingMessage, from?: PeerId): DropReason | null {
    const now = this.opts.clock.now();
    this.lastDrop = null;
    const sender = from === undefined ? {} : { from };
    if (message.type === 'token') {
      this.dispatch({ type: 'token-received', now, session: message.session, epoch: message.epoch, step: message.step, tokenId: message.tokenId, ...sender });
    } else if (message.type === 'failure') {
      this.dispatch({ type: 'stage-failed', now, session: message.session, reason: message.message, ...sender });
    } else if (message.type === 'end') {
      this.dispatch({ type: 'ended', now, session: message.session, reason: message.reason, ...sender });
    }
    return this.lastDrop;
  }

  /** The verifier confirmed the steps of submission `wire` before `upTo`: their tokens go out. */
  onVerified(wire: SessionId, upTo: number): void {
    this.dispatch({ type: 'verified', now: this.opts.clock.now(), session: wire, upTo });
  }

  /** The verifier found step `step` of submission `wire` wrong: it replays from the last verified step. */
  onAuditFailed(wire: SessionId, step: number, reason: string): void {
    this.dispatch({ type: 'audit-failed', now: this.opts.clock.now(), session: wire, step, reason });
  }

  /** The connection to `peer` is gone: every session running through it fails over. */
  onPeerLost(peer: PeerId, reason: string): void {
    this.dispatch({ type: 'stage-failed', now: this.opts.clock.now(), peer, reason });
  }

  generate(prompt: readonly number[], options: GenerateOptions): AsyncIterable<TokenEvent> {
    const spec = toRequestSpec(prompt, options, this.opts.clock.now(), this.opts.pickSeed, this.opts.limits);
    return {
      [Symbol.asyncIterator]: (): AsyncIterator<TokenEvent> => {
        const session = this.opts.newSessionId();
        const channel = new Channel();
        this.channels.set(session, channel);
        const cancel = (): void => {
          if (this.channels.has(session)) this.dispatch({ type: 'cancelled', now: this.opts.clock.now(), session });
        };
        options.signal?.addEventListener('abort', cancel, { once: true });
        this.dispatch({ type: 'submitted', now: this.opts.clock.now(), session, spec });
        return {
          next: () => channel.next(),
          // The consumer stopped early (break / throw in for-await): free the ring's caches.
          return: () => {
            cancel();
            options.signal?.removeEventListener('abort', cancel);
            channel.closed = true;
            return Promise.resolve({ done: true, value: undefined });
          },
        };
      },
    };
  }

  /** Stops the timer; requests still in flight end as cancelled. */
  close(): void {
    for (const session of [...this.channels.keys()]) this.dispatch({ type: 'cancelled', now: this.opts.clock.now(), session });
    if (this.timer !== null) this.opts.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private dispatch(event: RequesterEvent): void {
    const r = applyRequesterEvent(event, this.state);
    this.state = r.state;
    for (const effect of r.effects) this.perform(effect);
    this.schedule();
  }

  private perform(effect: RequesterEffect): void {
    switch (effect.type) {
      case 'send-prefill':
        this.sendSafely(effect.to, effect.message);
        return;
      case 'send-end':
        for (const to of effect.to) this.sendSafely(to, { type: 'end', session: effect.session, reason: 'done' });
        return;
      case 'emit-token':
        this.channels.get(effect.session)?.push({ kind: 'token', step: effect.step, id: effect.tokenId });
        return;
      case 'finished':
        this.channels.get(effect.session)?.push({
          kind: 'end',
          reason: effect.reason,
          tokens: effect.tokens,
          ...(effect.stopToken === undefined ? {} : { stopToken: effect.stopToken }),
        });
        this.channels.delete(effect.session);
        return;
      case 'failed':
        this.channels.get(effect.session)?.push({ error: effect.error });
        this.channels.delete(effect.session);
        return;
      case 'dropped':
        this.lastDrop = effect.reason; // stale, duplicate or foreign input: reported to the caller of onMessage
        return;
    }
  }

  /** A send that throws (closed channel) is a lost stage; the step timeout turns it into a retry. */
  private sendSafely(to: PeerId, message: RingMessage): void {
    try {
      this.opts.send(to, message);
    } catch {
      // Deliberately swallowed: the fold's step timeout notices the silence and re-submits.
    }
  }

  private schedule(): void {
    if (this.timer !== null) this.opts.clock.clearTimeout(this.timer);
    this.timer = null;
    const at = nextWakeAt(this.state);
    if (at === null) return;
    this.timer = this.opts.clock.setTimeout(
      () => {
        this.timer = null;
        this.dispatch({ type: 'tick', now: this.opts.clock.now() });
      },
      Math.max(0, at - this.opts.clock.now()),
    );
  }
}
