// What a stage's decode runs cost (docs/ring.md, "Replica rings"): the requester weighs a ring's
// load against its round trip by what one more session adds to each token. Measured on this
// peer's own stage: a one-row run alone, and the extra per row of packed decode runs. Pure.

/** Weight of a new sample in the moving averages: recent runs dominate after ~10 of them. */
const ALPHA = 0.2;

export interface RunTimingSnapshot {
  /** Smoothed ms of a decode run of one session alone (undefined: none yet). */
  readonly decodeMs?: number;
  /** Smoothed ms each further session adds to a packed decode run (undefined: none yet). */
  readonly extraRowMs?: number;
  /** Decode runs timed so far, how many of them packed several sessions, and how many in all. */
  readonly decodeRuns: number;
  readonly packedRuns: number;
  readonly packedSessions: number;
}

export class RunTiming {
  private decode: number | undefined;
  private extra: number | undefined;
  private counts = { decodeRuns: 0, packedRuns: 0, packedSessions: 0 };

  /** One ORT run of `rows` decode rows (one per session) that took `ms`; prefill runs are not passed. */
  record(rows: number, ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms) || rows < 1) return;
    this.counts = {
      decodeRuns: this.counts.decodeRuns + 1,
      packedRuns: this.counts.packedRuns + (rows > 1 ? 1 : 0),
      packedSessions: this.counts.packedSessions + (rows > 1 ? rows : 0),
    };
    if (rows === 1) {
      this.decode = ewma(this.decode, ms);
      return;
    }
    // Needs a one-row figure to subtract; before one, a packed run says nothing about the extra.
    if (this.decode === undefined) return;
    this.extra = ewma(this.extra, Math.max(0, ms - this.decode) / (rows - 1));
  }

  snapshot(): RunTimingSnapshot {
    return {
      ...(this.decode === undefined ? {} : { decodeMs: this.decode }),
      ...(this.extra === undefined ? {} : { extraRowMs: this.extra }),
      ...this.counts,
    };
  }
}

const ewma = (prev: number | undefined, x: number): number => (prev === undefined ? x : prev + ALPHA * (x - prev));
