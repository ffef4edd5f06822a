// When a ring counts as ready (docs/ring.md, "When a ring is ready", "Proof of holding"): every
// stage reported `ready` for the plan's epoch (its stage loaded, its link to the next stage open),
// this peer's requester has open links to stage 0 and the last stage, and, where the room has
// trusted challengers, every contributor stage was also attested for that epoch by one of them
// (`report held`). Pure: RingPeer feeds it what signaling relays and what its transport has open.
import { z } from 'zod';
import type { PeerId } from '../ids.ts';

/** Report kind of a trusted member's holding attestations. */
export const HELD_REPORT = 'held';

/** Peer ids one `held` report lists per verdict (keeps the report well under 4 KiB). */
export const MAX_HELD_LIST = 64;

const peerIds = z.array(z.string().min(1).max(64)).max(MAX_HELD_LIST);

/**
 * `report held`: the contributor stages of plan `planEpoch` this trusted member challenged and
 * found holding their units (`proven`) or not (`failed`), so far. Each report replaces the
 * sender's previous one; an empty one only says that the sender challenges.
 */
export const heldReportSchema = z.object({ planEpoch: z.number().int().nonnegative(), proven: peerIds, failed: peerIds });
export type HeldReport = z.infer<typeof heldReportSchema>;

/** Epochs of attestations kept (the newest); older ones can no longer make a ring ready. */
const KEPT_EPOCHS = 4;

/** What one peer heard of `held` reports: who challenges, and whom they found holding, per epoch. */
export class HoldingAttestations {
  private readonly challengers = new Set<PeerId>();
  /** epoch → peer → trusted members that attested it. */
  private readonly proven = new Map<number, Map<PeerId, Set<PeerId>>>();

  /**
   * Takes a relayed `held` report. Only trusted members' count (`fromTrusted`): a contributor
   * vouching for itself or another proves nothing. Returns false when it was ignored.
   */
  record(from: PeerId, fromTrusted: boolean, data: unknown): boolean {
    if (!fromTrusted) return false;
    const r = heldReportSchema.safeParse(data);
    if (!r.success) return false;
    this.challengers.add(from);
    let byPeer = this.proven.get(r.data.planEpoch);
    if (byPeer === undefined) {
      byPeer = new Map();
      this.proven.set(r.data.planEpoch, byPeer);
      this.prune();
    }
    // The report replaces this sender's previous one for the epoch.
    for (const by of byPeer.values()) by.delete(from);
    for (const peer of r.data.proven) {
      const by = byPeer.get(peer as PeerId) ?? new Set<PeerId>();
      by.add(from);
      byPeer.set(peer as PeerId, by);
    }
    return true;
  }

  /** Whether `peer` reported `held` reports (it challenges) at some point. */
  challenges(peer: PeerId): boolean {
    return this.challengers.has(peer);
  }

  /** Whether one of `attesters` found `peer` holding its units for `epoch`. */
  proved(peer: PeerId, epoch: number, attesters: (by: PeerId) => boolean): boolean {
    const by = this.proven.get(epoch)?.get(peer);
    return by !== undefined && [...by].some(attesters);
  }

  private prune(): void {
    const epochs = [...this.proven.keys()].sort((a, b) => b - a);
    for (const e of epochs.slice(KEPT_EPOCHS)) this.proven.delete(e);
  }
}

export interface ReadinessInput {
  readonly epoch: number;
  readonly ring: readonly PeerId[];
  /** The latest epoch each member reported `ready` for. */
  readonly readyEpoch: ReadonlyMap<PeerId, number>;
  /** Whether a member is trusted now (its role in the room). */
  readonly isTrusted: (peer: PeerId) => boolean;
  /** Trusted members in the room now that challenge (they reported `held`). */
  readonly challengers: readonly PeerId[];
  /** Whether one of `challengers` attested `peer` for `epoch`. */
  readonly proved: (peer: PeerId, epoch: number) => boolean;
  /** Stages this peer's requester sends to or hears from (ring-links-ready.ts); none when absent. */
  readonly requesterLinks?: readonly PeerId[];
  /** Whether this peer has an open link to `peer`. */
  readonly linked?: (peer: PeerId) => boolean;
}

export type Readiness =
  | { readonly ready: true }
  /**
   * `unready`: stages without a ready report for the epoch (a stage reports only once its stage is
   * loaded and its link to the next stage is open); `unproven`: contributor stages not attested
   * yet; `unlinked`: stages this peer's requester has no open link to.
   */
  | { readonly ready: false; readonly unready: readonly PeerId[]; readonly unproven: readonly PeerId[]; readonly unlinked: readonly PeerId[] };

/**
 * Whether the ring of `epoch` may take requests. Trusted stages count on their word; contributor
 * stages need an attestation once the room has a challenger. A room without one (no trusted
 * member, or none that challenges) counts every claim as before: claims are all there is.
 */
export function ringReadiness(i: ReadinessInput): Readiness {
  const unready = i.ring.filter((peer) => i.readyEpoch.get(peer) !== i.epoch);
  const gated = i.challengers.length > 0;
  const unproven = gated ? i.ring.filter((peer) => !unready.includes(peer) && !i.isTrusted(peer) && !i.proved(peer, i.epoch)) : [];
  const unlinked = (i.requesterLinks ?? []).filter((peer) => i.linked?.(peer) !== true);
  return unready.length === 0 && unproven.length === 0 && unlinked.length === 0 ? { ready: true } : { ready: false, unready, unproven, unlinked };
}
