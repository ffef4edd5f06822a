/**
 * Resume tokens let a reconnecting peer keep its id. A token is HMAC-SHA256(secret, room + id):
 * stateless, so a server restarted with the same `resumeSecret` still honours it, and only the
 * peer the server welcomed (the one that received the token) can present it.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { PeerId, RoomId } from '../shared/ids.ts';

export interface ResumeTokens {
  mint(room: RoomId, peerId: PeerId): string;
  verify(room: RoomId, peerId: PeerId, token: string): boolean;
}

export function createResumeTokens(secret: string = randomBytes(32).toString('base64url')): ResumeTokens {
  const mint = (room: RoomId, peerId: PeerId): string => createHmac('sha256', secret).update(`${room}\n${peerId}`).digest('base64url');
  return {
    mint,
    verify(room, peerId, token) {
      const expected = Buffer.from(mint(room, peerId));
      const got = Buffer.from(token);
      return got.length === expected.length && timingSafeEqual(got, expected);
    },
  };
}
