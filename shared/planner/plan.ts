import type { PeerId } from '../ids.ts';

/** One stage of the ring: `peerId` runs layers [start, end). */
export interface PlanStage {
  readonly peerId: PeerId;
  readonly start: number;
  readonly end: number;
  /** Bytes this stage reserves: its layers' weights + KV at the served context (+ embed / head). */
  readonly reservedBytes: number;
}

/** Why a member holds no layers: it only seeds pieces to others. */
export type SeederReason =
  /** Its budget cannot hold even one layer with its KV reservation. */
  | 'too-small'
  /** It could hold a layer, but its share rounds to nothing: another hop would cost more than it adds. */
  | 'not-needed';

export interface Seeder {
  readonly peerId: PeerId;
  readonly reason: SeederReason;
}

/**
 * A ring partition. `ring[0]` holds the embedding (layers start at 0), the last stage holds the
 * head; consecutive stages are ring neighbours and the last one sends tokens back to `ring[0]`.
 */
export interface Plan {
  readonly ring: readonly PlanStage[];
  /** Members without layers, sorted by peer id. */
  readonly seeders: readonly Seeder[];
}

/** Tuning of a re-plan (only used together with a previous plan). */
export interface PlanOptions {
  /**
   * Layers a re-plan may put on a stage beyond floor/ceil of its proportional quota, to move fewer
   * layers. 0 (default) keeps the fresh-plan guarantee |count − quota| < 1; k relaxes it to < 1 + k.
   */
  readonly moveSlackLayers?: number;
}

/** The planner's answer: a plan, or exactly how much memory is missing. */
export type PlanResult =
  | { readonly kind: 'planned'; readonly plan: Plan }
  | {
      readonly kind: 'insufficient';
      /** Smallest memory budget one more peer would need to bring for a plan to exist. */
      readonly missingBytes: number;
      /** Bytes of the whole model: every layer with its KV reservation, embed and head. */
      readonly requiredBytes: number;
      /** Sum of all members' budgets (layers are indivisible, so this can exceed requiredBytes). */
      readonly offeredBytes: number;
    };

/** The owner of every layer, index = layer. */
function layerOwners(plan: Plan): PeerId[] {
  const owners: PeerId[] = [];
  for (const s of plan.ring) for (let l = s.start; l < s.end; l++) owners[l] = s.peerId;
  return owners;
}

/** Layers whose owner differs between two plans of the same model: what a re-plan re-downloads. */
export function movedLayers(before: Plan, after: Plan): number {
  const a = layerOwners(before);
  const b = layerOwners(after);
  let moved = 0;
  for (let l = 0; l < Math.max(a.length, b.length); l++) if (a[l] !== b[l]) moved++;
  return moved;
}

/** The stage a peer runs in a plan, if any. */
export function stageOf(plan: Plan, peerId: PeerId): PlanStage | undefined {
  return plan.ring.find((s) => s.peerId === peerId);
}
