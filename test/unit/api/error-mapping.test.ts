import { describe, expect, it } from 'vitest';
import { toApiError } from '../../../node-peer/api/error-mapping.ts';
import { NoRingError, RingBusyError } from '../../../shared/ring/errors.ts';

describe('API error mapping', () => {
  it('a stage at its session or KV limit is a 503 ring_busy with Retry-After, not an internal error', () => {
    const e = toApiError(new RingBusyError('s1', 'peer-b'));
    expect(e).toMatchObject({ status: 503, code: 'ring_busy', headers: { 'retry-after': '1' } });
  });

  it('no ring is a 503 no_ring; anything unknown a 500', () => {
    expect(toApiError(new NoRingError('s1', 10))).toMatchObject({ status: 503, code: 'no_ring' });
    expect(toApiError(new Error('boom'))).toMatchObject({ status: 500, code: 'internal_error' });
  });
});
