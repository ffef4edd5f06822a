// A bound on the generations the API runs at once (`--api-max-concurrent`): each one holds a
// KV-cache session on every stage of the ring and a request body in memory, so past the bound a
// request is refused at once (429) rather than queued.
import { ApiError } from './api-errors.ts';

/** Default bound: enough for a few clients streaming side by side, a few KV caches per stage. */
export const DEFAULT_MAX_CONCURRENT = 8;

/** Seconds a refused client is told to wait; generations of the demo models last about that. */
const RETRY_AFTER_S = 1;

export interface Slot {
  /** Frees the slot; later calls do nothing. */
  release(): void;
}

export interface GenerationSlots {
  readonly active: number;
  readonly max: number;
  /** A slot, or a 429 `ApiError` (with `Retry-After`) to throw when all are taken. */
  acquire(): Slot;
}

export function createGenerationSlots(max = DEFAULT_MAX_CONCURRENT): GenerationSlots {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`max concurrent generations must be an integer ≥ 1, got ${max}`);
  let active = 0;
  return {
    get active() {
      return active;
    },
    max,
    acquire() {
      if (active >= max) {
        throw new ApiError(
          429,
          `This peer is already running ${max} generations (--api-max-concurrent); retry shortly`,
          'requests',
          null,
          'rate_limit_exceeded',
          {
            headers: { 'retry-after': String(RETRY_AFTER_S) },
          },
        );
      }
      active++;
      let held = true;
      return {
        release() {
          if (!held) return;
          held = false;
          active--;
        },
      };
    },
  };
}
