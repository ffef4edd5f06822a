// The links a ring needs before it may be called ready (docs/ring.md, "When a ring is ready"): a
// loaded stage that cannot reach the next stage would take requests and answer none. A stage
// reports `ready` only once its link to the next stage is open; a requester also needs its links
// to stage 0 (prefills) and to the last stage (tokens).
import type { PeerId } from '../ids.ts';
import type { Clock } from '../util/clock.ts';
import type { Transport } from '../transport/transport.ts';

/** The stage after `self` in `ring` (the last stage's is stage 0); null when none or itself. */
export function nextStageOf(ring: readonly PeerId[], self: PeerId): PeerId | null {
  const i = ring.indexOf(self);
  if (i < 0) return null;
  const next = ring[(i + 1) % ring.length] as PeerId;
  return next === self ? null : next;
}

/** The stages `self`'s requester sends to or hears from: stage 0 and the last stage, itself excluded. */
export function requesterLinksOf(ring: readonly PeerId[], self: PeerId): PeerId[] {
  const ends = [ring[0], ring[ring.length - 1]].filter((p): p is PeerId => p !== undefined && p !== self);
  return [...new Set(ends)];
}

export interface RingLinkOpenerOptions {
  readonly transport: Transport;
  readonly clock: Clock;
  /** One connect's deadline, ms (default 10 000). */
  readonly attemptMs?: number;
  /** Pause after a failed connect, ms (default 1 000): a connect that fails at once must not spin. */
  readonly pauseMs?: number;
  /** A connect to `peer` failed; another follows while the link is still wanted. */
  readonly onDown: (peer: PeerId, attempt: number, reason: string) => void;
}

/** Opens the links a ring needs, retrying while they are wanted. */
export class RingLinkOpener {
  constructor(private readonly opts: RingLinkOpenerOptions) {}

  /** Whether a link to `peer` is open now. */
  isOpen(peer: PeerId): boolean {
    const c = this.opts.transport.connection(peer);
    return c !== undefined && !c.closed;
  }

  /**
   * Resolves true once a link to `peer` is open, false once `wanted()` turns false (a new plan,
   * the peer closing). Retries until then: the loop is bounded by the plan it serves.
   */
  async open(peer: PeerId, wanted: () => boolean): Promise<boolean> {
    for (let attempt = 1; wanted(); attempt++) {
      if (this.isOpen(peer)) return true;
      try {
        await this.opts.transport.connect(peer, { timeoutMs: this.opts.attemptMs ?? 10_000 });
        return wanted();
      } catch (err) {
        if (!wanted()) return false;
        this.opts.onDown(peer, attempt, err instanceof Error ? err.message : String(err));
        await new Promise<void>((resolve) => this.opts.clock.setTimeout(resolve, this.opts.pauseMs ?? 1_000));
      }
    }
    return false;
  }
}
