import type { PeerId } from '../ids.ts';
import { DuplicateMemberError, InvalidPlanInputError } from './errors.ts';

/** A peer as the planner sees it: what it announced in `hello` (docs/signaling.md). */
export interface Member {
  readonly peerId: PeerId;
  /** Bytes the peer offers for weights + KV caches. */
  readonly memoryBytes: number;
  /** Measured forward time of one layer in ms on the fixed micro-benchmark; lower is faster. */
  readonly speedMsPerLayer: number;
  readonly kind: 'node' | 'browser';
  /**
   * From the join token: `trusted` (the operator's peers) or `contributor`; absent means
   * `contributor`. Trusted members get the embedding and the head when they have room (docs/planner.md).
   */
  readonly role?: 'trusted' | 'contributor';
}

/** Orders peer ids by UTF-16 code units: the one tie-break every part of the planner uses. */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Validates members and returns them sorted by peer id, so that every later computation runs in
 * one canonical order: the same member set in any order gives the same plan, bit for bit.
 */
export function canonicalMembers(members: readonly Member[]): Member[] {
  const sorted = [...members].sort((a, b) => compareIds(a.peerId, b.peerId));
  for (let i = 0; i < sorted.length; i++) {
    const m = sorted[i] as Member;
    if (i > 0 && (sorted[i - 1] as Member).peerId === m.peerId) throw new DuplicateMemberError(m.peerId);
    if (!Number.isSafeInteger(m.memoryBytes) || m.memoryBytes < 0) {
      throw new InvalidPlanInputError(`member ${m.peerId}.memoryBytes`, `${m.memoryBytes} must be a safe integer ≥ 0`);
    }
    if (!Number.isFinite(m.speedMsPerLayer) || m.speedMsPerLayer <= 0) {
      throw new InvalidPlanInputError(`member ${m.peerId}.speedMsPerLayer`, `${m.speedMsPerLayer} must be a finite number > 0`);
    }
    if (m.kind !== 'node' && m.kind !== 'browser') {
      throw new InvalidPlanInputError(`member ${m.peerId}.kind`, `${String(m.kind)} must be "node" or "browser"`);
    }
    if (m.role !== undefined && m.role !== 'trusted' && m.role !== 'contributor') {
      throw new InvalidPlanInputError(`member ${m.peerId}.role`, `${String(m.role)} must be "trusted", "contributor" or absent`);
    }
  }
  return sorted;
}

/**
 * How many layers a member should carry relative to others: memory divided by time per layer.
 * With equal speeds this is exo's memory-proportional split; with equal memory it equalises stage
 * times (layers ∝ 1/speed), so a slow peer never takes longer per step than a fast peer with the
 * same memory.
 */
export function memberWeight(m: Member): number {
  return m.memoryBytes / m.speedMsPerLayer;
}
