/**
 * Whether a `hello` may join its room, before the room itself is asked (room-registry.ts): its join
 * token, its capped claims, the per-address room limit, the room's bans, and which peer id it gets
 * (its own back on a valid resume token, else a fresh one). Admission counts the room against the
 * client's address; a caller whose room then refuses the member gives it back (`leaveRoom`).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { asPeerId, type PeerId } from '../shared/ids.ts';
import { CLOSE_CODES } from '../shared/signaling/close-codes.ts';
import { ERROR_CODES, type ErrorCode, type HelloMessage, type MemberRole } from '../shared/signaling/protocol.ts';
import type { AddressLimits } from './address-limits.ts';
import { JoinTokenError } from './errors.ts';
import { verifyJoinToken, type JoinTokenClaims } from './join-token.ts';
import { memberClaims, type MemberClaims, type MemoryCaps } from './member-claims.ts';
import type { SignalingLimits } from './options.ts';
import type { ResumeTokens } from './resume-token.ts';
import type { RoomBans } from './room-bans.ts';

/** Where a connection comes from: the address as seen (normalized) and the key per-address limits count it under. */
export interface ClientAddress {
  readonly address: string;
  readonly key: string;
}

/** What admission reads of the server (part of client-connection.ts's `ConnectionContext`). */
export interface AdmissionContext {
  readonly limits: SignalingLimits;
  readonly resumeTokens: ResumeTokens;
  readonly tokenSecret: string | undefined;
  readonly log: Logger;
  readonly addressLimits: AddressLimits;
  readonly memoryCaps: MemoryCaps;
  readonly openRole: MemberRole;
  readonly bans: RoomBans;
}

/** A refusal: the error frame to send, then the close code and reason. */
export interface HelloRefusal {
  readonly ok: false;
  readonly code: ErrorCode;
  readonly message: string;
  readonly field: string;
  readonly closeCode: number;
  readonly closeReason: string;
}

export type HelloAdmission = { readonly ok: true; readonly peerId: PeerId; readonly resumed: boolean; readonly claims: MemberClaims } | HelloRefusal;

export function admitHello(message: HelloMessage, ctx: AdmissionContext, client: ClientAddress, now: number): HelloAdmission {
  const room = message.room;
  const refuse = (code: ErrorCode, text: string, field: string, closeCode: number, closeReason: string): HelloRefusal => ({
    ok: false,
    code,
    message: text,
    field,
    closeCode,
    closeReason,
  });
  let token: JoinTokenClaims | undefined;
  if (ctx.tokenSecret !== undefined) {
    try {
      token = verifyJoinToken(message.token, { secret: ctx.tokenSecret, room, now });
    } catch (err) {
      if (!(err instanceof JoinTokenError)) throw err;
      return refuse(ERROR_CODES.unauthorized, err.message, 'token', CLOSE_CODES.unauthorized, err.name);
    }
  }
  const claims = memberClaims(message.capabilities, token, ctx.memoryCaps, ctx.openRole);
  if (claims.capabilities.memoryBytes !== claims.claimedMemoryBytes) {
    ctx.log.info({ room, claimed: claims.claimedMemoryBytes, capped: claims.capabilities.memoryBytes }, 'memory claim capped');
  }
  if (!ctx.addressLimits.joinRoom(client.key, room)) {
    const text = `at most ${ctx.limits.maxRoomsPerAddress} rooms per client address`;
    return refuse(ERROR_CODES.addressLimit, text, 'room', CLOSE_CODES.addressLimit, 'too many rooms from this address');
  }
  const banned = {
    ...(message.resume ? { peerId: message.resume.peerId } : {}),
    ...(message.token !== undefined ? { token: message.token } : {}),
    address: client.address,
  };
  if (ctx.bans.isBanned(room, banned)) {
    ctx.addressLimits.leaveRoom(client.key, room);
    return refuse(ERROR_CODES.evicted, `evicted from room ${room}`, 'room', CLOSE_CODES.evicted, 'evicted from this room');
  }
  const resumed = message.resume !== undefined && ctx.resumeTokens.verify(room, message.resume.peerId, message.resume.token);
  const peerId = resumed && message.resume ? message.resume.peerId : asPeerId(randomBytes(12).toString('base64url'));
  return { ok: true, peerId, resumed, claims };
}
