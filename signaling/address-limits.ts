/**
 * Per-client-address bounds: open connections and rooms joined. Without them one host can take
 * every connection slot (`maxConnections`) or create every room (`maxRooms`) on its own. IPv6
 * clients are counted per /64 (one host usually holds a whole /64), IPv4-mapped IPv6 as IPv4.
 */
import { isIP } from 'node:net';

export interface AddressLimitOptions {
  /** Open sockets per client address, joined or not. */
  readonly maxConnectionsPerAddress: number;
  /** Distinct rooms the members from one client address may be in at once. */
  readonly maxRoomsPerAddress: number;
}

/** The address as compared: `::ffff:a.b.c.d` → `a.b.c.d`, lowercase, zone dropped. */
export function normalizeAddress(address: string): string {
  const a = address.toLowerCase().replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  return mapped?.[1] ?? a;
}

/** The key limits are counted under: the normalized address, or for IPv6 its /64 prefix. */
export function addressKey(address: string): string {
  const a = normalizeAddress(address);
  if (isIP(a) !== 6) return a;
  return `${expandIpv6(a).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, as lowercase hex without leading zeros. */
function expandIpv6(a: string): string[] {
  const [head = '', tail] = a.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  // An embedded IPv4 tail (::1.2.3.4) is two groups; only the first four groups matter here.
  const fill = Array.from({ length: Math.max(0, 8 - left.length - right.length) }, () => '0');
  return [...left, ...(tail === undefined ? [] : fill), ...right].map((g) => g.replace(/^0+(?=.)/, ''));
}

export class AddressLimits {
  private readonly connections = new Map<string, number>();
  /** key → room → members from that key in the room. */
  private readonly rooms = new Map<string, Map<string, number>>();

  constructor(private readonly options: AddressLimitOptions) {}

  /** Counts a new connection from `key`; false (nothing counted) when `key` is at its limit. */
  openConnection(key: string): boolean {
    const n = this.connections.get(key) ?? 0;
    if (n >= this.options.maxConnectionsPerAddress) return false;
    this.connections.set(key, n + 1);
    return true;
  }

  closeConnection(key: string): void {
    const n = (this.connections.get(key) ?? 1) - 1;
    if (n <= 0) this.connections.delete(key);
    else this.connections.set(key, n);
  }

  /** Counts a member from `key` in `room`; false when that would be one room too many for `key`. */
  joinRoom(key: string, room: string): boolean {
    let mine = this.rooms.get(key);
    if (mine === undefined) this.rooms.set(key, (mine = new Map()));
    const n = mine.get(room) ?? 0;
    if (n === 0 && mine.size >= this.options.maxRoomsPerAddress) {
      if (mine.size === 0) this.rooms.delete(key);
      return false;
    }
    mine.set(room, n + 1);
    return true;
  }

  leaveRoom(key: string, room: string): void {
    const mine = this.rooms.get(key);
    if (mine === undefined) return;
    const n = (mine.get(room) ?? 1) - 1;
    if (n > 0) mine.set(room, n);
    else mine.delete(room);
    if (mine.size === 0) this.rooms.delete(key);
  }

  connectionsFrom(key: string): number {
    return this.connections.get(key) ?? 0;
  }

  roomsFrom(key: string): number {
    return this.rooms.get(key)?.size ?? 0;
  }
}
