/**
 * Cuts streamed text at the first stop string. Text that could still become a stop string is held
 * back until the next piece decides it, so a client never sees part of a stop sequence.
 */
export class StopStringMatcher {
  private held = '';
  private done = false;

  constructor(private readonly stops: readonly string[]) {}

  get stopped(): boolean {
    return this.done;
  }

  /** Text now safe to emit after `piece`; once a stop string is found, what came before it and nothing more. */
  push(piece: string): string {
    if (this.done) return '';
    this.held += piece;
    let cut = -1;
    for (const s of this.stops) {
      const i = this.held.indexOf(s);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      this.done = true;
      const out = this.held.slice(0, cut);
      this.held = '';
      return out;
    }
    const keep = this.longestStopPrefixSuffix();
    const out = this.held.slice(0, this.held.length - keep);
    this.held = this.held.slice(this.held.length - keep);
    return out;
  }

  /** What is still held back at the end of generation (no stop string completed). */
  end(): string {
    const out = this.done ? '' : this.held;
    this.held = '';
    return out;
  }

  /** Length of the longest suffix of `held` that is a proper prefix of some stop string. */
  private longestStopPrefixSuffix(): number {
    let best = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, this.held.length); k > best; k--) {
        if (this.held.endsWith(s.slice(0, k))) {
          best = k;
          break;
        }
      }
    }
    return best;
  }
}
