// What the signaling server broadcasts as `plan.plan` for ring rooms (signaling/plan-hook.ts), and
// the reports peers send for it. Parsed with zod on receipt: it comes over the network.
import { z } from 'zod';
import type { PeerId } from '../ids.ts';
import type { ModelShape } from '../planner/model-shape.ts';

const stageSchema = z.object({ peerId: z.string().min(1).max(64), start: z.number().int().nonnegative(), end: z.number().int().positive() });

export const ringPlanSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('planned'),
    modelId: z.string().max(128),
    numLayers: z.number().int().positive(),
    /** The first ring: all an older peer reads. */
    ring: z.array(stageSchema).min(1),
    /** Every replica ring, `ring` first (docs/ring.md, "Replica rings"); absent: `ring` alone. */
    rings: z.array(z.array(stageSchema).min(1)).max(1024).optional(),
    seeders: z.array(z.string()),
  }),
  z.object({
    kind: z.literal('insufficient'),
    modelId: z.string().max(128),
    missingBytes: z.number().nonnegative(),
    requiredBytes: z.number().nonnegative(),
  }),
]);
export type RingPlan = z.infer<typeof ringPlanSchema>;
export type PlannedRing = Extract<RingPlan, { kind: 'planned' }>;

/** The plan in a `plan` message, or null when it is not a ring plan (another hook, a newer format). */
export function parseRingPlan(plan: unknown): RingPlan | null {
  const r = ringPlanSchema.safeParse(plan);
  return r.success ? r.data : null;
}

export function ringPeers(plan: PlannedRing): PeerId[] {
  return plan.ring.map((s) => s.peerId as PeerId);
}

export type PlannedStage = PlannedRing['ring'][number];

/** Every replica ring of `plan`, the first one first (a plan without `rings` has one). */
export function ringsOf(plan: PlannedRing): PlannedStage[][] {
  return plan.rings === undefined || plan.rings.length === 0 ? [plan.ring] : plan.rings;
}

/** Report kinds of the ring (signaling `report`). */
export const MODEL_REPORT = 'model';
export const READY_REPORT = 'ready';

/**
 * `report model` as a peer sends it: the model's manifest (as parsed from manifest.json: its
 * canonical JSON bytes hash to `modelId`) and the context the peer serves. The server checks the
 * hash against the room's model and derives the shape itself (docs/signaling.md, "Model reports").
 */
export const modelReportSchema = z.object({
  modelId: z.string().regex(/^[0-9a-f]{64}$/),
  manifest: z.unknown(),
  contextTokens: z.number().int().positive().optional(),
});
export type ModelReportData = { readonly modelId: string; readonly manifest: unknown; readonly contextTokens?: number };

/** What the server stores, hands to the planner and relays for a `model` report it verified. */
export const verifiedModelReportSchema = z.object({
  modelId: z.string().max(128),
  shape: z.object({
    numLayers: z.number().int().positive(),
    bytesPerLayer: z.number().int().positive(),
    embedBytes: z.number().int().nonnegative(),
    headBytes: z.number().int().nonnegative(),
    kvBytesPerTokenPerLayer: z.number().int().nonnegative(),
    contextTokens: z.number().int().positive(),
  }),
});
export type ModelReport = { readonly modelId: string; readonly shape: ModelShape };

/** `report ready`: this peer's stage for plan `planEpoch` is loaded and serving. */
export const readyReportSchema = z.object({ planEpoch: z.number().int().nonnegative() });
export type ReadyReport = z.infer<typeof readyReportSchema>;
