/**
 * Identities evicted from a room (docs/signaling.md, "Eviction"): a trusted member's verifier caught
 * them returning wrong results. An identity is what the server can tie a connection to: its peer id
 * (a resume keeps it), its join token (the exact token: another token from the operator is another
 * identity) and its client address. Loopback addresses are never banned (every process of the
 * operator's own host shares them), and addresses are weak anyway: NAT shares one, a new one costs
 * an attacker little. Kept for the server's lifetime, which outlasts the room's.
 */
import { createHash } from 'node:crypto';

export interface BannedIdentity {
  readonly peerId?: string;
  readonly token?: string;
  readonly address?: string;
}

/** Most identities one room remembers; beyond it the oldest are forgotten. */
const MAX_BANS_PER_ROOM = 4096;
/** Most rooms with bans; beyond it the room banned in longest ago is forgotten. */
const MAX_ROOMS = 10_000;

function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address === 'localhost';
}

/** A token as stored: its hash (a ban list never holds a usable credential). */
function tokenKey(token: string): string {
  return `t:${createHash('sha256').update(token).digest('base64url')}`;
}

export class RoomBans {
  private readonly rooms = new Map<string, Set<string>>();

  ban(room: string, who: BannedIdentity): void {
    let set = this.rooms.get(room);
    if (set === undefined) {
      if (this.rooms.size >= MAX_ROOMS) this.rooms.delete(this.rooms.keys().next().value as string);
      set = new Set();
      this.rooms.set(room, set);
    }
    for (const key of keysOf(who)) {
      if (set.size >= MAX_BANS_PER_ROOM) set.delete(set.values().next().value as string);
      set.add(key);
    }
  }

  /** Whether any part of `who` was banned from `room`. */
  isBanned(room: string, who: BannedIdentity): boolean {
    const set = this.rooms.get(room);
    return set !== undefined && keysOf(who).some((k) => set.has(k));
  }
}

function keysOf(who: BannedIdentity): string[] {
  const keys: string[] = [];
  if (who.peerId !== undefined) keys.push(`p:${who.peerId}`);
  if (who.token !== undefined) keys.push(tokenKey(who.token));
  if (who.address !== undefined && !isLoopback(who.address)) keys.push(`a:${who.address}`);
  return keys;
}
