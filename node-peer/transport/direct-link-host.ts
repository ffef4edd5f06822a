/**
 * Which hosts a direct-link dialer connects to. An answer names host and port, and both come from
 * the remote member: unchecked, any member could make every dialer connect (and send its token and
 * frames) to any host:port it likes. So a dialer connects only to the address the remote's
 * signaling connection comes from, as the server saw it (`PeerInfo.address`), or to a host the
 * operator allowed (`NodeTransportOptions.directLinkHosts`). Anything else is refused and the dial
 * falls back to WebRTC (docs/wire-protocol.md, "Direct links").
 */
import { isIP } from 'node:net';
import type { PeerInfo } from '../../shared/signaling/protocol.ts';
import { TransportError } from '../../shared/transport/errors.ts';

/** A direct-link answer named a host the dialer may not connect to. */
export class DirectLinkHostError extends TransportError {
  override readonly code = 'ERR_DIRECT_LINK_HOST';
  constructor(
    readonly host: string,
    readonly expected: string | undefined,
  ) {
    super(`direct-link answer names host ${host}, not ${expected ?? 'an address the signaling server vouched for'}: not dialed`);
  }
}

/** `::ffff:a.b.c.d` → `a.b.c.d`, lowercase, IPv6 zone dropped, brackets removed. */
export function normalizeHost(host: string): string {
  const h = host
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  return mapped?.[1] ?? h;
}

/**
 * The check a dialer applies to the host of `remote`'s answer: equal (as an IP literal) to the
 * address the server stamped on `remote`, or one of `allowed`. Host names are never dialed unless
 * allowed by name: a name may resolve anywhere.
 */
export function directLinkHostCheck(remote: PeerInfo | undefined, allowed: readonly string[] = []): (host: string) => boolean {
  const ok = new Set(allowed.map(normalizeHost));
  const stamped = remote?.address !== undefined ? normalizeHost(remote.address) : undefined;
  return (host) => {
    const h = normalizeHost(host);
    if (ok.has(h)) return true;
    return stamped !== undefined && isIP(h) !== 0 && h === stamped;
  };
}
