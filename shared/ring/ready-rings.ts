// Which rings of the current plan this peer's requester may use (docs/ring.md, "When a ring is
// ready", "Replica rings"): tracks the members' `ready` reports, asks my-ring.ts per ring, dials
// the requester links a ring still lacks, and tells the requester each time one more is ready.
import type { PeerId } from '../ids.ts';
import type { SignalingClient } from '../signaling/signaling-client.ts';
import { ringPeerLists, ringsReadiness } from './my-ring.ts';
import type { HoldingAttestations } from './readiness.ts';
import type { RingLinkOpener } from './ring-links-ready.ts';
import type { PlannedRing } from './ring-plan.ts';

export interface ReadyRingsOptions {
  readonly signaling: SignalingClient;
  readonly links: RingLinkOpener;
  readonly attestations: HoldingAttestations;
  /** Whether `epoch` is still the plan being served (dials stop once it is not). */
  readonly isCurrent: (epoch: number) => boolean;
  /** One more ring of `epoch` is ready. */
  readonly onRingReady: (epoch: number, ring: readonly PeerId[]) => void;
  /** The ready rings of `epoch` now, in the order they became ready (grows within an epoch). */
  readonly onRings: (epoch: number, rings: readonly (readonly PeerId[])[]) => void;
}

export class ReadyRings {
  /** The latest epoch each member reported `ready` for. */
  readonly readyEpoch = new Map<PeerId, number>();
  private ready: { epoch: number; rings: PeerId[][] } = { epoch: -1, rings: [] };
  /** `epoch:peer` of the requester links being opened, so each is dialed once per plan. */
  private readonly dials = new Set<string>();

  constructor(private readonly opts: ReadyRingsOptions) {}

  /** Ready rings of `epoch` (empty when it is not the epoch last checked). */
  readyOf(epoch: number): readonly (readonly PeerId[])[] {
    return this.ready.epoch === epoch ? this.ready.rings : [];
  }

  /** Re-checks the rings of `current` after a report, a link or a plan. */
  check(current: { epoch: number; plan: PlannedRing } | null): void {
    if (current === null) return;
    const { epoch, plan } = current;
    const signaling = this.opts.signaling;
    const self = signaling.peerId as PeerId;
    const trusted = (peer: PeerId): boolean => signaling.members.get(peer)?.role === 'trusted';
    // Contributor stages also need a trusted challenger's attestation, where the room has one.
    const challengers = [...signaling.members.keys()].filter((peer) => trusted(peer) && this.opts.attestations.challenges(peer));
    const r = ringsReadiness(ringPeerLists(plan), self, {
      epoch,
      readyEpoch: this.readyEpoch,
      isTrusted: trusted,
      challengers,
      proved: (peer, e) => this.opts.attestations.proved(peer, e, (by) => challengers.includes(by)),
      linked: (peer) => this.opts.links.isOpen(peer),
    });
    this.dial(epoch, r.unlinked, current);
    const known = this.readyOf(epoch);
    const fresh = r.ready.filter((ring) => !known.some((k) => k[0] === ring[0]));
    if (fresh.length === 0) return;
    // Rings only join within an epoch: one that was ready stays offered (a lost stage is the requester's to notice).
    const rings = [...known.map((k) => [...k]), ...fresh];
    this.ready = { epoch, rings };
    for (const ring of fresh) this.opts.onRingReady(epoch, ring);
    this.opts.onRings(epoch, rings);
  }

  /** Dials this requester's missing links to rings' ends; the check runs again once one opens. */
  private dial(epoch: number, peers: readonly PeerId[], current: { epoch: number; plan: PlannedRing }): void {
    for (const peer of peers) {
      const key = `${epoch}:${peer}`;
      if (this.dials.has(key)) continue;
      this.dials.add(key);
      void this.opts.links
        .open(peer, () => this.opts.isCurrent(epoch))
        .then((open) => {
          this.dials.delete(key);
          if (open && this.opts.isCurrent(epoch)) this.check(current);
        });
    }
  }
}
