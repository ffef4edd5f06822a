// Which replica ring of a plan this peer serves, and which rings are ready for its requester
// (docs/ring.md, "Replica rings"). Each peer is a stage of at most one ring (rings are disjoint);
// its requester may use every ring that is ready. Pure.
import type { LayerRange } from '../model/layer-range.ts';
import type { PeerId } from '../ids.ts';
import { ringReadiness, type ReadinessInput } from './readiness.ts';
import { requesterLinksOf } from './ring-links-ready.ts';
import { ringsOf, type PlannedRing, type PlannedStage } from './ring-plan.ts';

/** Peer ids of every ring of `plan`, in plan order. */
export function ringPeerLists(plan: PlannedRing): PeerId[][] {
  return ringsOf(plan).map((ring) => ring.map((s) => s.peerId as PeerId));
}

/** Every stage of every ring (the members that may send stage frames under this plan). */
export function allStagePeers(plan: PlannedRing): PeerId[] {
  return ringPeerLists(plan).flat();
}

/** `self`'s stage in `plan`, whichever ring holds it; undefined when it is no stage. */
export function myStage(plan: PlannedRing, self: PeerId | undefined): PlannedStage | undefined {
  for (const ring of ringsOf(plan)) {
    const s = ring.find((x) => x.peerId === self);
    if (s !== undefined) return s;
  }
  return undefined;
}

/** The ring `self` is a stage of, as peer ids; null when none. */
export function myRing(plan: PlannedRing, self: PeerId | undefined): PeerId[] | null {
  return ringPeerLists(plan).find((ring) => self !== undefined && ring.includes(self)) ?? null;
}

/** `self`'s layers in `plan`, or null when it is no stage. */
export function myLayers(plan: PlannedRing, self: PeerId | undefined): LayerRange | null {
  const s = myStage(plan, self);
  return s === undefined ? null : { start: s.start, end: s.end };
}

export function sameRange(a: LayerRange | undefined | null, b: LayerRange): boolean {
  return a !== undefined && a !== null && a.start === b.start && a.end === b.end;
}

export interface RingsReadiness {
  /** Rings ready for this requester, in plan order. */
  readonly ready: PeerId[][];
  /**
   * Stages this requester still needs a link to, of rings otherwise ready (every stage ready and,
   * where it applies, proven): dialing them is all that is left.
   */
  readonly unlinked: PeerId[];
}

/** `ringReadiness` for each ring of the plan, with this requester's own links per ring. */
export function ringsReadiness(rings: readonly (readonly PeerId[])[], self: PeerId, input: Omit<ReadinessInput, 'ring' | 'requesterLinks'>): RingsReadiness {
  const ready: PeerId[][] = [];
  const unlinked = new Set<PeerId>();
  for (const ring of rings) {
    const r = ringReadiness({ ...input, ring, requesterLinks: requesterLinksOf(ring, self) });
    if (r.ready) ready.push([...ring]);
    else if (r.unready.length === 0 && r.unproven.length === 0) for (const p of r.unlinked) unlinked.add(p);
  }
  return { ready, unlinked: [...unlinked] };
}
