import type { PeerId } from '../ids.ts';
import type { Frame, PongFrame } from '../wire/frame-types.ts';
import { PingTimeoutError } from './errors.ts';

/** Round trips `minRtt` looks back over: with a PING every 5 s, the last 80 s. */
const RECENT_SAMPLES = 16;

interface Waiting {
  readonly resolve: (rtt: number) => void;
  readonly reject: (e: unknown) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** The PINGs of one connection awaiting their PONG, and the smoothed round trip (RFC 6298 style). */
export class PingTracker {
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  private smoothed: number | undefined;
  /** The latest RECENT_SAMPLES round trips, oldest first. */
  private readonly recent: number[] = [];

  constructor(private readonly remotePeerId: PeerId) {}

  /** Latest smoothed round trip in ms; undefined before the first PONG. */
  get srtt(): number | undefined {
    return this.smoothed;
  }

  /**
   * Lowest of the latest RECENT_SAMPLES round trips in ms (undefined before the first PONG): the
   * path itself, without the time a PING or PONG waited for a busy event loop at either end — a
   * Node peer's event loop is blocked while onnxruntime-node runs a stage.
   */
  get minRtt(): number | undefined {
    return this.recent.length === 0 ? undefined : Math.min(...this.recent);
  }

  /** Sends a PING through `send` and resolves with the round trip in ms; rejects with `PingTimeoutError` or `send`'s error. */
  ping(send: (frame: Frame) => Promise<void>, timeoutMs: number): Promise<number> {
    const requestId = this.nextId;
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(requestId);
        reject(new PingTimeoutError(this.remotePeerId, requestId, timeoutMs));
      }, timeoutMs);
      this.waiting.set(requestId, { resolve, reject, timer });
      send({ type: 'PING', requestId, sentAt: performance.now() }).catch((err: unknown) => {
        clearTimeout(timer);
        this.waiting.delete(requestId);
        reject(err);
      });
    });
  }

  /** A PONG arrived: settles its PING (an unknown or late one is ignored). */
  pong(frame: PongFrame): void {
    const waiting = this.waiting.get(frame.requestId);
    if (!waiting) return;
    this.waiting.delete(frame.requestId);
    clearTimeout(waiting.timer);
    const rtt = performance.now() - frame.pingSentAt;
    this.smoothed = this.smoothed === undefined ? rtt : 0.875 * this.smoothed + 0.125 * rtt;
    this.recent.push(rtt);
    if (this.recent.length > RECENT_SAMPLES) this.recent.shift();
    waiting.resolve(rtt);
  }

  /** The connection ended: every waiting PING rejects with `err`. */
  failAll(err: unknown): void {
    for (const p of this.waiting.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.waiting.clear();
  }
}
