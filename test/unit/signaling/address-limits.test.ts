import { describe, expect, it } from 'vitest';
import { AddressLimits, addressKey, normalizeAddress } from '../../../signaling/address-limits.ts';

describe('client address keys', () => {
  it('counts IPv4-mapped IPv6 as IPv4 and IPv6 per /64', () => {
    expect(normalizeAddress('::FFFF:127.0.0.1')).toBe('127.0.0.1');
    expect(addressKey('::ffff:203.0.113.3')).toBe('203.0.113.3');
    expect(addressKey('2001:db8:0:1::5')).toBe('2001:db8:0:1::/64');
    expect(addressKey('2001:db8:0:1:ffff:1:2:3')).toBe('2001:db8:0:1::/64');
    expect(addressKey('2001:0db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });
});

describe('AddressLimits', () => {
  it('caps connections per address and frees a slot on close', () => {
    const limits = new AddressLimits({ maxConnectionsPerAddress: 2, maxRoomsPerAddress: 1 });
    expect([limits.openConnection('a'), limits.openConnection('a'), limits.openConnection('a'), limits.openConnection('b')]).toEqual([true, true, false, true]);
    limits.closeConnection('a');
    expect(limits.openConnection('a')).toBe(true);
    expect(limits.connectionsFrom('a')).toBe(2);
  });

  it('caps distinct rooms per address; more members in a room it is in are fine', () => {
    const limits = new AddressLimits({ maxConnectionsPerAddress: 10, maxRoomsPerAddress: 2 });
    expect([limits.joinRoom('a', 'r1'), limits.joinRoom('a', 'r1'), limits.joinRoom('a', 'r2'), limits.joinRoom('a', 'r3')]).toEqual([true, true, true, false]);
    limits.leaveRoom('a', 'r1');
    expect(limits.joinRoom('a', 'r3')).toBe(false); // r1 still holds one member
    limits.leaveRoom('a', 'r1');
    expect(limits.joinRoom('a', 'r3')).toBe(true);
    expect(limits.roomsFrom('a')).toBe(2);
    limits.leaveRoom('a', 'r2');
    limits.leaveRoom('a', 'r3');
    expect(limits.roomsFrom('a')).toBe(0);
  });
});
