import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../../shared/signaling/backoff.ts';

describe('reconnect backoff (exponential, full jitter)', () => {
  const top = () => 0.999999;

  it('doubles the ceiling per attempt up to the maximum', () => {
    const ceilings = [0, 1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, top, { baseMs: 100, maxMs: 5_000 }));
    expect(ceilings).toEqual([99, 199, 399, 799, 1599, 3199, 4999, 4999]);
  });

  it('draws uniformly below the ceiling (full jitter)', () => {
    expect(backoffDelay(3, () => 0, { baseMs: 100 })).toBe(0);
    expect(backoffDelay(3, () => 0.5, { baseMs: 100 })).toBe(400);
  });

  it('stays finite after a very long outage', () => {
    expect(backoffDelay(10_000, top)).toBe(29_999);
  });
});
