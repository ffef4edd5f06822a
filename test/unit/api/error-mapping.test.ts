import { describe, expect, it } from 'vitest';
import { ServerShuttingDownError } from '../../../node-peer/api/abort-reasons.ts';
import { toApiError } from '../../../node-peer/api/error-mapping.ts';
import { NoRingError, RingBusyError, RingTimeoutError } from '../../../shared/ring/errors.ts';

describe('API error mapping', () => {
  it('a stage at its session or KV limit is a 503 ring_busy with Retry-After, not an internal error', () => {
    const e = toApiError(new RingBusyError('s1', 'peer-b'));
    expect(e).toMatchObject({ status: 503, code: 'ring_busy', headers: { 'retry-after': '1' } });
  });

  it('no ring is a 503 no_ring; anything unknown a 500', () => {
    expect(toApiError(new NoRingError('s1', 10))).toMatchObject({ status: 503, code: 'no_ring' });
    expect(toApiError(new Error('boom'))).toMatchObject({ status: 500, code: 'internal_error' });
  });

  it('a ring past its token deadline is a 504 ring_timeout', () => {
    expect(toApiError(new RingTimeoutError('s1', 'first', 30_000, 0))).toMatchObject({ status: 504, type: 'server_error', code: 'ring_timeout' });
  });

  it('a peer shutting down is a 503 server_shutting_down, without Retry-After (this peer is going away)', () => {
    const e = toApiError(new ServerShuttingDownError());
    expect(e).toMatchObject({ status: 503, type: 'service_unavailable', code: 'server_shutting_down', headers: {} });
    expect(e.message).toMatch(/shutting down/);
  });
});
