/**
 * Reconnect delays: exponential backoff with "full jitter" (AWS architecture blog, 2015): the
 * delay before attempt n is uniform in [0, min(maxMs, baseMs · 2ⁿ)), so a crowd of peers that lost
 * the server at the same moment spreads its reconnects instead of arriving together.
 */
export interface BackoffOptions {
  /** Ceiling of the first delay, ms (default 250). */
  readonly baseMs?: number;
  /** Largest ceiling, ms (default 30 000). */
  readonly maxMs?: number;
}

/** Delay before reconnect attempt `attempt` (0-based); `random` returns [0, 1). */
export function backoffDelay(attempt: number, random: () => number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? 250;
  const max = options.maxMs ?? 30_000;
  // Cap the exponent so 2 ** attempt never overflows into Infinity on a very long outage.
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
