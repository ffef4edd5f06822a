import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  JoinTokenExpiredError,
  JoinTokenMalformedError,
  JoinTokenMissingError,
  JoinTokenRoomError,
  JoinTokenSignatureError,
} from '../../../signaling/errors.ts';
import { mintJoinToken, verifyJoinToken } from '../../../signaling/join-token.ts';

const now = Date.UTC(2026, 0, 1);
const secret = 'test-secret';

describe('join tokens', () => {
  it('verifies a fresh token for its room', () => {
    const token = mintJoinToken({ secret, room: 'r1', ttlSeconds: 60, now });
    expect(verifyJoinToken(token, { secret, room: 'r1', now })).toEqual({ room: 'r1', exp: now / 1000 + 60 });
  });

  it('admits any room with "*"', () => {
    const token = mintJoinToken({ secret, room: '*', now });
    expect(verifyJoinToken(token, { secret, room: 'anything', now }).room).toBe('*');
  });

  it('rejects missing, expired, wrong-room, badly signed and malformed tokens', () => {
    const token = mintJoinToken({ secret, room: 'r1', ttlSeconds: 60, now });
    expect(() => verifyJoinToken(undefined, { secret, room: 'r1', now })).toThrow(JoinTokenMissingError);
    expect(() => verifyJoinToken(token, { secret, room: 'r1', now: now + 60_000 })).toThrow(JoinTokenExpiredError);
    expect(() => verifyJoinToken(token, { secret, room: 'r2', now })).toThrow(JoinTokenRoomError);
    expect(() => verifyJoinToken(token, { secret: 'other', room: 'r1', now })).toThrow(JoinTokenSignatureError);
    const [payload, sig] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ room: 'r1', exp: now / 1000 + 99_999 })).toString('base64url');
    expect(() => verifyJoinToken(`${forged}.${sig}`, { secret, room: 'r1', now })).toThrow(JoinTokenSignatureError);
    expect(() => verifyJoinToken(`${payload}`, { secret, room: 'r1', now })).toThrow(JoinTokenMalformedError);
    expect(() => verifyJoinToken(`${token}.x`, { secret, room: 'r1', now })).toThrow(JoinTokenMalformedError);
  });

  it('rejects a correctly signed payload that is not {room, exp}', () => {
    // Signed with the right secret, so only the payload check can refuse it.
    const payload = Buffer.from('[1]').toString('base64url');
    const sig = createHmac('sha256', secret).update(payload).digest('base64url');
    expect(() => verifyJoinToken(`${payload}.${sig}`, { secret, room: 'r1', now })).toThrow(JoinTokenMalformedError);
    const notJson = Buffer.from('{').toString('base64url');
    const sig2 = createHmac('sha256', secret).update(notJson).digest('base64url');
    expect(() => verifyJoinToken(`${notJson}.${sig2}`, { secret, room: 'r1', now })).toThrow(JoinTokenMalformedError);
  });
});
