// The plan half of RingPeer's status (ring-peer-types.ts `RingPeerStatus`): what the latest plan
// gives this peer and which of its rings are ready. Pure.
import type { LayerRange } from '../model/layer-range.ts';
import type { PeerId } from '../ids.ts';
import { myLayers, myRing } from './my-ring.ts';
import type { RingPeerStatus } from './ring-peer-types.ts';
import type { RingPlan } from './ring-plan.ts';

export type PlanStatus = Pick<RingPeerStatus, 'planEpoch' | 'layers' | 'loaded' | 'ring' | 'readyRing' | 'readyRings' | 'missingBytes'>;

export interface PlanStatusInput {
  readonly current: { readonly epoch: number; readonly plan: RingPlan } | null;
  readonly self: PeerId | undefined;
  /** The ready rings of the current plan, in the order they became ready. */
  readonly readyRings: readonly (readonly PeerId[])[];
  /** Whether this peer's stage serves `layers` now. */
  readonly serves: (layers: LayerRange) => boolean;
  /** This peer's requester's sessions in flight on the ring whose stage 0 is `peer`. */
  readonly sessions: (peer: PeerId) => number;
}

export function planStatus(input: PlanStatusInput): PlanStatus {
  const { current: p, self, readyRings } = input;
  const layers = p?.plan.kind === 'planned' ? myLayers(p.plan, self) : null;
  return {
    planEpoch: p?.epoch ?? null,
    layers,
    // A peer the plan gives no layers has nothing to load.
    loaded: layers === null || input.serves(layers),
    ring: p?.plan.kind === 'planned' ? myRing(p.plan, self) : null,
    readyRing: readyRings[0] ?? null,
    readyRings: readyRings.map((ring) => ({ ring, sessions: input.sessions(ring[0] as PeerId) })),
    missingBytes: p?.plan.kind === 'insufficient' ? p.plan.missingBytes : null,
  };
}
