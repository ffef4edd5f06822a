import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { defaultBindAddress } from '../../../node-peer/transport/default-bind-address.ts';

const addr = (address: string, family: 'IPv4' | 'IPv6', internal = false): NetworkInterfaceInfo =>
  family === 'IPv4'
    ? { address, family, internal, netmask: '255.0.0.0', mac: '00:00:00:00:00:00', cidr: null }
    : { address, family, internal, netmask: 'ffff::', mac: '00:00:00:00:00:00', cidr: null, scopeid: 0 };
const lo = [addr('127.0.0.1', 'IPv4', true), addr('::1', 'IPv6', true)];

describe('defaultBindAddress', () => {
  it('binds loopback when loopback is the only interface (a container, a network namespace)', () => {
    expect(defaultBindAddress({ lo })).toBe('127.0.0.1');
    expect(defaultBindAddress({})).toBe('127.0.0.1');
  });

  it('binds loopback when the only other address is IPv6 link-local, which libjuice does not offer', () => {
    expect(defaultBindAddress({ lo, eth0: [addr('fe80::1', 'IPv6')] })).toBe('127.0.0.1');
  });

  it('stays unbound on a host with a routable address, so every interface is offered', () => {
    expect(defaultBindAddress({ lo, eth0: [addr('192.0.2.7', 'IPv4')] })).toBeUndefined();
    expect(defaultBindAddress({ lo, eth0: [addr('fe80::1', 'IPv6'), addr('2001:db8::7', 'IPv6')] })).toBeUndefined();
  });
});
