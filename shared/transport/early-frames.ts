import type { Frame } from '../wire/frame-types.ts';

/**
 * What a connection holds for its first `frame` listener while nobody listens yet. Owners
 * subscribe within microtasks of the open, so the bound is met only by a connection nobody ever
 * listens to (a member the swarm refused): its frames are dropped and counted, not kept.
 */
const EARLY_MAX_FRAMES = 1024;
const EARLY_MAX_BYTES = 16 * 1024 * 1024;

/**
 * Frames that arrived before anyone listened. The connection's owners subscribe a few microtasks
 * apart (the ring on the transport's `open`, the piece swarm when `connect()` resolves), so the
 * first `frame` listener releases them a macrotask later, in order, to every listener there is by
 * then; frames arriving meanwhile queue behind them (unbounded: a listener is about to take them).
 */
export class EarlyFrames {
  private held: Frame[] | undefined = [];
  private bytes = 0;
  private releaseScheduled = false;

  /** Whether frames are still held here rather than emitted (no release has run yet). */
  get holding(): boolean {
    return this.held !== undefined;
  }

  /** Holds `frame` (`bytes` on the wire); false when it is over the bound and dropped. */
  hold(frame: Frame, bytes: number): boolean {
    if (this.held === undefined) return false;
    if (!this.releaseScheduled && (this.held.length >= EARLY_MAX_FRAMES || this.bytes + bytes > EARLY_MAX_BYTES)) return false;
    this.held.push(frame);
    this.bytes += bytes;
    return true;
  }

  /** A first listener came: `release` gets every held frame a macrotask later, once. */
  scheduleRelease(release: (frames: Frame[]) => void): void {
    if (this.held === undefined || this.releaseScheduled) return;
    this.releaseScheduled = true;
    setTimeout(() => {
      const frames = this.held ?? [];
      this.held = undefined;
      this.bytes = 0;
      release(frames);
    }, 0);
  }
}
