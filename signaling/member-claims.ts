/**
 * What the server believes of a member's `hello`: its role (from the join token, or the server's
 * open role) and its memory claim capped by kind and by the token's `mem`. The planner weighs
 * members by memory, so an uncapped claim (2^50 bytes) would hand one member every layer.
 */
import type { Capabilities, MemberRole } from '../shared/signaling/protocol.ts';
import type { JoinTokenClaims } from './join-token.ts';

export interface MemoryCaps {
  /** Largest memory a browser member may claim, bytes (default 16 GiB). */
  readonly browser: number;
  /** Largest memory a Node member may claim, bytes (default 1 TiB). */
  readonly node: number;
}

export const DEFAULT_MEMORY_CAPS: MemoryCaps = { browser: 16 * 2 ** 30, node: 2 ** 40 };

export interface MemberClaims {
  readonly role: MemberRole;
  readonly capabilities: Capabilities;
  /** The memory claimed before capping (for logs). */
  readonly claimedMemoryBytes: number;
}

/**
 * Role and capped capabilities of a member. `token` is the verified join token (undefined on a
 * server without a token secret, where every member gets `openRole`).
 */
export function memberClaims(capabilities: Capabilities, token: JoinTokenClaims | undefined, caps: MemoryCaps, openRole: MemberRole): MemberClaims {
  const role: MemberRole = token === undefined ? openRole : (token.role ?? 'contributor');
  const limit = Math.min(caps[capabilities.kind], token?.mem ?? Number.MAX_SAFE_INTEGER);
  const memoryBytes = Math.min(capabilities.memoryBytes, limit);
  return {
    role,
    capabilities: memoryBytes === capabilities.memoryBytes ? capabilities : { ...capabilities, memoryBytes },
    claimedMemoryBytes: capabilities.memoryBytes,
  };
}
