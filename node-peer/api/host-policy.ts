// Which `Host` header values the API answers (DNS-rebinding defence, docs/api.md "Access"): a
// page on attacker.example whose name re-resolves to 127.0.0.1 sends `Host: attacker.example`.
import { isIP } from 'node:net';

/** `host:port`, `[v6]:port` or a bare name → the lower-case host name without brackets or port. */
export function hostName(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end < 0 ? h : h.slice(1, end);
  }
  // Exactly one colon: a port; more (an unbracketed IPv6 address) is left as it is.
  const colon = h.indexOf(':');
  return colon >= 0 && colon === h.lastIndexOf(':') ? h.slice(0, colon) : h;
}

/** localhost, 127.0.0.0/8 or ::1 (what only this machine reaches). */
export function isLoopbackHost(host: string): boolean {
  const h = hostName(host).replace(/\.$/, '');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::1' || h === '0:0:0:0:0:0:0:1' || h === '::ffff:127.0.0.1';
}

const isWildcard = (host: string): boolean => host === '0.0.0.0' || host === '::' || host === '';

/**
 * The host names a server bound to `bindHost` answers to: loopback names and addresses when it
 * listens on loopback or on every interface; its bind address; any IP literal when it listens on
 * every interface (an address is no name an attacker can re-point); and `publicHosts` (the names
 * clients use for it, e.g. behind a proxy). A request without a Host header (HTTP/1.0, or a
 * Request built in process) passes: browsers, the only rebinding vector, always send one.
 */
export function createHostPolicy(bindHost: string, publicHosts: readonly string[] = []): (hostHeader: string | null) => boolean {
  const bind = hostName(bindHost);
  const names = new Set(publicHosts.map((h) => hostName(h).replace(/\.$/, '')));
  const wildcard = isWildcard(bind);
  const loopbackOk = wildcard || isLoopbackHost(bind);
  return (hostHeader) => {
    if (hostHeader === null) return true;
    const h = hostName(hostHeader).replace(/\.$/, '');
    if (h === '') return false;
    if (names.has(h) || h === bind) return true;
    if (loopbackOk && isLoopbackHost(h)) return true;
    return wildcard && isIP(h) !== 0;
  };
}
