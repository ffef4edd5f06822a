/**
 * Join tokens: `base64url(JSON {room, exp, role?, mem?}) + "." + base64url(HMAC-SHA256(secret, payloadPart))`.
 * `exp` is in unix seconds; `room: "*"` admits any room; `role` is `trusted` or `contributor`
 * (absent: contributor); `mem` caps the memory its holder may claim, bytes. Whoever holds the
 * secret (the operator, the CLI) mints them; the server only verifies.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { JoinTokenExpiredError, JoinTokenMalformedError, JoinTokenMissingError, JoinTokenRoomError, JoinTokenSignatureError } from './errors.ts';
import type { MemberRole } from '../shared/signaling/protocol.ts';

export interface JoinTokenClaims {
  readonly room: string;
  /** Expiry, unix seconds. */
  readonly exp: number;
  /** What the operator vouches for; absent: contributor. */
  readonly role?: MemberRole;
  /** Most memory its holder may claim, bytes; absent: the server's per-kind cap only. */
  readonly mem?: number;
}

export interface MintJoinTokenOptions {
  readonly secret: string;
  /** Room name, or "*" for any room. */
  readonly room: string;
  /** Lifetime in seconds from `now` (default 3600). */
  readonly ttlSeconds?: number;
  /** ms since the epoch (default Date.now()). */
  readonly now?: number;
  /** Role of its holder (default: none in the token, read as contributor). */
  readonly role?: MemberRole;
  /** Memory cap of its holder, bytes. */
  readonly mem?: number;
}

export function mintJoinToken(options: MintJoinTokenOptions): string {
  const now = options.now ?? Date.now();
  const claims: JoinTokenClaims = {
    room: options.room,
    exp: Math.floor(now / 1000) + (options.ttlSeconds ?? 3600),
    ...(options.role !== undefined ? { role: options.role } : {}),
    ...(options.mem !== undefined ? { mem: options.mem } : {}),
  };
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${payload}.${sign(options.secret, payload)}`;
}

/** Checks a token for `room`; returns its claims or throws a `JoinTokenError` subclass. */
export function verifyJoinToken(token: string | undefined, options: { secret: string; room: string; now?: number }): JoinTokenClaims {
  if (token === undefined || token === '') throw new JoinTokenMissingError(`room ${options.room} requires a join token`);
  const [payload, signature, extra] = token.split('.');
  if (!payload || !signature || extra !== undefined) throw new JoinTokenMalformedError('join token is not <payload>.<signature>');
  const expected = Buffer.from(sign(options.secret, payload));
  const got = Buffer.from(signature);
  if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
    throw new JoinTokenSignatureError('join token signature does not match the server secret');
  }
  const claims = decodeClaims(payload);
  const nowSeconds = (options.now ?? Date.now()) / 1000;
  if (claims.exp <= nowSeconds) throw new JoinTokenExpiredError(`join token expired at ${new Date(claims.exp * 1000).toISOString()}`);
  if (claims.room !== '*' && claims.room !== options.room) {
    throw new JoinTokenRoomError(`join token is for room ${claims.room}, not ${options.room}`);
  }
  return claims;
}

function sign(secret: string, payload: string): string {
  return createHmac('sha256', secret).update(payload).digest('base64url');
}

function decodeClaims(payload: string): JoinTokenClaims {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch (cause) {
    throw new JoinTokenMalformedError('join token payload is not JSON', { cause });
  }
  const v = value as { room?: unknown; exp?: unknown; role?: unknown; mem?: unknown } | null;
  if (typeof v !== 'object' || v === null || typeof v.room !== 'string' || typeof v.exp !== 'number' || !Number.isFinite(v.exp)) {
    throw new JoinTokenMalformedError('join token payload must be {room: string, exp: number, role?, mem?}');
  }
  // Signed claims the server cannot read are refused, not ignored: the operator meant something.
  if (v.role !== undefined && v.role !== 'trusted' && v.role !== 'contributor')
    throw new JoinTokenMalformedError('join token role must be "trusted" or "contributor"');
  if (v.mem !== undefined && (typeof v.mem !== 'number' || !Number.isSafeInteger(v.mem) || v.mem < 0))
    throw new JoinTokenMalformedError('join token mem must be a whole number of bytes');
  return { room: v.room, exp: v.exp, ...(v.role !== undefined ? { role: v.role } : {}), ...(v.mem !== undefined ? { mem: v.mem } : {}) };
}
