// Drives the requester fold in tests: a fixed config, event folding, and a simulated greedy ring
// (next token = a pure function of the whole prefix, like greedy decoding of a fixed model).
import { asPeerId, asSessionId, type PeerId, type SessionId } from '../../../shared/ids.ts';
import type { RingPrefill } from '../../../shared/ring/messages.ts';
import { applyRequesterEvent } from '../../../shared/ring/requester-fold.ts';
import {
  initialRequesterState,
  type RequestSpec,
  type RequesterConfig,
  type RequesterEffect,
  type RequesterEvent,
  type RequesterState,
} from '../../../shared/ring/requester-state.ts';

export const ME = asPeerId('me');
export const [A, B, C, D] = ['a', 'b', 'c', 'd'].map(asPeerId) as [PeerId, PeerId, PeerId, PeerId];
export const S1 = asSessionId('s1');
export const S2 = asSessionId('s2');
export const wire = (s: string): SessionId => asSessionId(s);

export const CONFIG: RequesterConfig = { self: ME, maxRetries: 2, stepTimeoutMs: 1000, replanWaitMs: 5000 };

export function spec(over: Partial<RequestSpec> = {}): RequestSpec {
  return { prompt: [1, 5, 9], maxTokens: 4, stop: [], sampling: { temperature: 0, topP: 1, topK: 0, seed: 7 }, ...over };
}

/** Folds events from a state, returning the final state and the effects of each event. */
export function fold(
  events: readonly RequesterEvent[],
  from: RequesterState = initialRequesterState(CONFIG),
): { state: RequesterState; effects: RequesterEffect[][] } {
  let state = from;
  const effects: RequesterEffect[][] = [];
  for (const e of events) {
    const r = applyRequesterEvent(e, state);
    state = r.state;
    effects.push([...r.effects]);
  }
  return { state, effects };
}

/** The "model": greedy next token of a prefix (deterministic, depends on every token). */
export function nextToken(prefix: readonly number[]): number {
  let h = 2166136261;
  for (const t of prefix) h = Math.imul(h ^ t, 16777619) >>> 0;
  return h % 50;
}

/**
 * A simulated ring around the fold: every send-prefill starts producing tokens from the prefix it
 * carries, one per `advance()`; `disturb` hooks let a test re-plan or fail between tokens.
 */
export class SimulatedRing {
  state: RequesterState = initialRequesterState(CONFIG);
  now = 0;
  readonly emitted = new Map<SessionId, number[]>();
  readonly ends: RequesterEffect[] = [];
  readonly prefills: RingPrefill[] = [];
  /** In-flight submissions: wire session → prefix so far and epoch. */
  private readonly inflight = new Map<SessionId, { tokens: number[]; epoch: number; step: number }>();

  apply(event: RequesterEvent): RequesterEffect[] {
    const r = applyRequesterEvent(event, this.state);
    this.state = r.state;
    for (const eff of r.effects) {
      if (eff.type === 'send-prefill') {
        this.prefills.push(eff.message);
        this.inflight.set(eff.message.session, { tokens: [...eff.message.tokens], epoch: eff.message.epoch, step: eff.message.step });
      } else if (eff.type === 'send-end') {
        this.inflight.delete(eff.session);
      } else if (eff.type === 'emit-token') {
        this.emitted.set(eff.session, [...(this.emitted.get(eff.session) ?? []), eff.tokenId]);
      } else if (eff.type === 'finished' || eff.type === 'failed') {
        this.ends.push(eff);
      }
    }
    return [...r.effects];
  }

  /** Each in-flight submission produces its next token (in wire-id order, for determinism). */
  advance(): void {
    this.now += 10;
    for (const [session, f] of [...this.inflight].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const tokenId = nextToken(f.tokens);
      f.tokens.push(tokenId);
      this.apply({ type: 'token-received', now: this.now, session, epoch: f.epoch, step: f.step++, tokenId });
    }
  }
}
