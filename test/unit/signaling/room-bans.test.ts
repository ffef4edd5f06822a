import { describe, expect, it } from 'vitest';
import { RoomBans } from '../../../signaling/room-bans.ts';

describe('RoomBans', () => {
  it('bans each part of an identity in its room only; loopback addresses are never banned', () => {
    const bans = new RoomBans();
    bans.ban('r', { peerId: 'p1', token: 'tok.sig', address: '203.0.113.7' });
    expect(bans.isBanned('r', { peerId: 'p1' })).toBe(true);
    expect(bans.isBanned('r', { token: 'tok.sig' })).toBe(true);
    expect(bans.isBanned('r', { address: '203.0.113.7' })).toBe(true);
    expect(bans.isBanned('r', { peerId: 'p2', token: 'other', address: '203.0.113.8' })).toBe(false);
    expect(bans.isBanned('other-room', { peerId: 'p1' })).toBe(false);
    bans.ban('r', { peerId: 'p3', address: '127.0.0.1' });
    expect(bans.isBanned('r', { address: '127.0.0.1' })).toBe(false);
  });
});
