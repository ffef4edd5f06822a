/**
 * The WebRTC bind address a Node peer uses when none is given (docs/troubleshooting.md, "Peers do
 * not connect"). libjuice gathers no loopback candidates unless bound to loopback, so on a host whose
 * only usable interface is `lo` (a container, a network namespace) an unbound peer offers no
 * candidate at all and none of its links opens. There it binds 127.0.0.1; anywhere else it stays
 * unbound, so libjuice offers every interface's address as before.
 */
import type { NetworkInterfaceInfo } from 'node:os';

/** Addresses libjuice offers as host candidates: not loopback, not IPv6 link-local (fe80::/10). */
function usable(a: NetworkInterfaceInfo): boolean {
  if (a.internal) return false;
  return a.family === 'IPv4' || !/^fe[89ab]/i.test(a.address);
}

/** '127.0.0.1' when no interface has an address other peers could reach; undefined otherwise. */
export function defaultBindAddress(interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>): string | undefined {
  const reachable = Object.values(interfaces).some((addrs) => (addrs ?? []).some(usable));
  return reachable ? undefined : '127.0.0.1';
}
