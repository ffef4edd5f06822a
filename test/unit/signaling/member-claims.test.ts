import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Capabilities } from '../../../shared/signaling/protocol.ts';
import { mintJoinToken, verifyJoinToken } from '../../../signaling/join-token.ts';
import { JoinTokenMalformedError } from '../../../signaling/errors.ts';
import { DEFAULT_MEMORY_CAPS, memberClaims } from '../../../signaling/member-claims.ts';

const GiB = 2 ** 30;
const caps = (kind: Capabilities['kind'], memoryBytes: number): Capabilities => ({ kind, engine: 'cpu', memoryBytes, modelsHeld: [], modelsWanted: [] });

describe('member claims', () => {
  it('caps memory per kind: a 2^50-byte claim is cut to the kind cap', () => {
    expect(memberClaims(caps('node', 2 ** 50), undefined, DEFAULT_MEMORY_CAPS, 'contributor').capabilities.memoryBytes).toBe(2 ** 40);
    expect(memberClaims(caps('browser', 2 ** 50), undefined, DEFAULT_MEMORY_CAPS, 'contributor').capabilities.memoryBytes).toBe(16 * GiB);
    const small = caps('node', 8 * GiB);
    expect(memberClaims(small, undefined, DEFAULT_MEMORY_CAPS, 'contributor').capabilities).toBe(small);
  });

  it('takes role and memory cap from the join token; without a token the open role', () => {
    const c = caps('node', 64 * GiB);
    expect(memberClaims(c, { room: 'r', exp: 1, role: 'trusted', mem: 4 * GiB }, DEFAULT_MEMORY_CAPS, 'contributor')).toMatchObject({
      role: 'trusted',
      capabilities: { memoryBytes: 4 * GiB },
      claimedMemoryBytes: 64 * GiB,
    });
    expect(memberClaims(c, { room: 'r', exp: 1 }, DEFAULT_MEMORY_CAPS, 'trusted').role).toBe('contributor');
    expect(memberClaims(c, undefined, DEFAULT_MEMORY_CAPS, 'trusted').role).toBe('trusted');
    expect(memberClaims(c, undefined, DEFAULT_MEMORY_CAPS, 'contributor').role).toBe('contributor');
  });
});

describe('join token role and mem claims', () => {
  const secret = 's';
  it('round-trips role and mem; a token without them has neither', () => {
    expect(verifyJoinToken(mintJoinToken({ secret, room: 'r', role: 'trusted', mem: 1234 }), { secret, room: 'r' })).toMatchObject({
      role: 'trusted',
      mem: 1234,
    });
    const plain = verifyJoinToken(mintJoinToken({ secret, room: 'r' }), { secret, room: 'r' });
    expect(plain.role).toBeUndefined();
    expect(plain.mem).toBeUndefined();
  });

  it('refuses signed claims it cannot read', () => {
    // Signed with the right secret (an operator's typo), so only the claim check can refuse it.
    const forge = (claims: object): string => {
      const payload = Buffer.from(JSON.stringify({ room: 'r', exp: 2 ** 40, ...claims })).toString('base64url');
      return `${payload}.${createHmac('sha256', secret).update(payload).digest('base64url')}`;
    };
    expect(() => verifyJoinToken(forge({ role: 'admin' }), { secret, room: 'r' })).toThrow(JoinTokenMalformedError);
    expect(() => verifyJoinToken(forge({ mem: -1 }), { secret, room: 'r' })).toThrow(JoinTokenMalformedError);
    expect(() => verifyJoinToken(forge({ mem: 1.5 }), { secret, room: 'r' })).toThrow(JoinTokenMalformedError);
  });
});
