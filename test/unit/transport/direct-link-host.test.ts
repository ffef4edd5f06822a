import { describe, expect, it } from 'vitest';
import { asPeerId } from '../../../shared/ids.ts';
import type { PeerInfo } from '../../../shared/signaling/protocol.ts';
import { directLinkHostCheck, normalizeHost } from '../../../node-peer/transport/direct-link-host.ts';

const remote = (address?: string): PeerInfo => ({
  peerId: asPeerId('p'),
  capabilities: { kind: 'node', engine: 'cpu', memoryBytes: 1, modelsHeld: [], modelsWanted: [], directLinks: true },
  ...(address !== undefined ? { address } : {}),
});

describe('direct-link host check', () => {
  it('dials only the address the server stamped on the remote', () => {
    const check = directLinkHostCheck(remote('192.0.2.7'));
    expect([check('192.0.2.7'), check('::ffff:192.0.2.7'), check('198.51.100.8'), check('127.0.0.1'), check('example.org')]).toEqual([
      true,
      true,
      false,
      false,
      false,
    ]);
  });

  it('dials nothing when the server stamped no address (an older server), unless the operator allowed the host', () => {
    expect(directLinkHostCheck(remote())('192.0.2.7')).toBe(false);
    expect(directLinkHostCheck(undefined)('192.0.2.7')).toBe(false);
    const check = directLinkHostCheck(remote('192.0.2.1'), ['192.0.2.7', 'lan-box.local']);
    expect([check('192.0.2.7'), check('LAN-BOX.local'), check('192.0.2.1'), check('198.51.100.9')]).toEqual([true, true, true, false]);
  });

  it('normalizes IPv6 literals', () => {
    expect(normalizeHost('[::1]')).toBe('::1');
    expect(normalizeHost('FE80::1%eth0')).toBe('fe80::1');
    expect(directLinkHostCheck(remote('::1'))('::1')).toBe(true);
  });
});
