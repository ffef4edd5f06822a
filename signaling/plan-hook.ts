// The ring planner as the signaling server's plan hook: on every membership change (and when a
// member's model report arrives) it plans the room's ring from the members' capabilities,
// re-planning from the room's previous plan so few layers move. It plans only the room's own model
// (the room id, or the model the operator set for the room), from the shape the server derived
// from a verified manifest (model-report.ts), never from a shape a member claimed.
import type { Logger } from 'pino';
import type { PeerId, RoomId } from '../shared/ids.ts';
import type { Member } from '../shared/planner/member.ts';
import type { Plan } from '../shared/planner/plan.ts';
import { planPartition } from '../shared/planner/plan-partition.ts';
import { MODEL_REPORT, verifiedModelReportSchema, type ModelReport, type RingPlan } from '../shared/ring/ring-plan.ts';
import { SPEED_REPORT, speedReportSchema } from '../shared/ring/speed-report.ts';
import type { MemberView, PlanHook } from './options.ts';

/** Members that announce no speed count as this (so equal unknowns split by memory alone). */
const DEFAULT_SPEED_MS_PER_LAYER = 1;
/** Previous plans kept (one per room); the oldest room is forgotten first. */
const MAX_ROOMS_REMEMBERED = 1_000;

export interface RingPlanHookOptions {
  readonly log?: Logger;
  /** Model ids for rooms whose name is not one (as the server's `roomModels`); other rooms plan the model named by their id. */
  readonly roomModels?: ReadonlyMap<string, string>;
}

/**
 * The model of the room: the shape of the first member (join order) whose verified report is for
 * the room's model. Members may serve different contexts; the largest reported one is planned, so
 * a member can make the plan reserve more KV, never less than an honest member needs.
 */
export function roomModel(room: RoomId, members: readonly MemberView[], roomModels?: ReadonlyMap<string, string>): ModelReport | undefined {
  const expected = roomModels?.get(room) ?? room;
  let model: ModelReport | undefined;
  for (const m of members) {
    const r = verifiedModelReportSchema.safeParse(m.reports.get(MODEL_REPORT)?.data);
    if (!r.success || r.data.modelId !== expected) continue;
    if (model === undefined) model = r.data;
    else if (r.data.shape.numLayers === model.shape.numLayers && r.data.shape.contextTokens > model.shape.contextTokens) {
      model = { modelId: model.modelId, shape: { ...model.shape, contextTokens: r.data.shape.contextTokens } };
    }
  }
  return model;
}

/**
 * The members as the planner takes them: memory as capped by the server, role (absent:
 * contributor), and speed. A contributor's speed is what trusted members measured of it (their
 * `speed` reports, the median), else its claim — never believed to be faster than the room's
 * reference, the median trusted member's claim (or the default when no trusted member says), so
 * claiming speed cannot win a stranger more layers; claiming to be slower only costs it layers.
 */
export function plannerMembers(members: readonly MemberView[]): Member[] {
  const reference = referenceSpeed(members);
  const measured = measuredSpeeds(members);
  return members.map((m) => {
    const role = m.role ?? 'contributor';
    const claimed = m.capabilities.speedMsPerLayer ?? DEFAULT_SPEED_MS_PER_LAYER;
    return {
      peerId: m.peerId,
      memoryBytes: m.capabilities.memoryBytes,
      speedMsPerLayer: role === 'trusted' ? claimed : (measured.get(m.peerId) ?? Math.max(claimed, reference)),
      kind: m.capabilities.kind,
      role,
    };
  });
}

/** Per member, the median of what trusted members measured of it (their latest `speed` reports). */
function measuredSpeeds(members: readonly MemberView[]): Map<string, number> {
  const seen = new Map<string, number[]>();
  for (const m of members) {
    if (m.role !== 'trusted') continue;
    const r = speedReportSchema.safeParse(m.reports.get(SPEED_REPORT)?.data);
    if (!r.success) continue;
    for (const e of r.data.measured) seen.set(e.peer, [...(seen.get(e.peer) ?? []), e.msPerLayer]);
  }
  return new Map([...seen].map(([peer, xs]) => [peer, xs.sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] as number]));
}

/** Median speed (ms per layer) of the trusted members' claims; the default without any. */
function referenceSpeed(members: readonly MemberView[]): number {
  const trusted = members.filter((m) => m.role === 'trusted').map((m) => m.capabilities.speedMsPerLayer ?? DEFAULT_SPEED_MS_PER_LAYER).sort((a, b) => a - b);
  return trusted.length === 0 ? DEFAULT_SPEED_MS_PER_LAYER : (trusted[Math.floor((trusted.length - 1) / 2)] as number);
}

/** Report kinds after which the room is planned again (the model shape arriving). */
export const REPLAN_REPORT_KINDS: ReadonlySet<string> = new Set([MODEL_REPORT]);

export function createRingPlanHook(opts: RingPlanHookOptions = {}): PlanHook {
  const previous = new Map<RoomId, { modelId: string; plan: Plan }>();
  return (room, members, epoch): RingPlan | undefined => {
    const model = roomModel(room, members, opts.roomModels);
    if (model === undefined) return undefined; // nobody told us the model yet: nothing to plan
    const planMembers = plannerMembers(members);
    const before = previous.get(room);
    const usable = before !== undefined && before.modelId === model.modelId && before.plan.ring.at(-1)?.end === model.shape.numLayers;
    const result = planPartition(model.shape, planMembers, usable ? before.plan : undefined);
    if (result.kind === 'insufficient') {
      opts.log?.info({ room, epoch, missingBytes: result.missingBytes }, 'ring plan: insufficient memory');
      return { kind: 'insufficient', modelId: model.modelId, missingBytes: result.missingBytes, requiredBytes: result.requiredBytes };
    }
    previous.delete(room);
    previous.set(room, { modelId: model.modelId, plan: result.plan });
    if (previous.size > MAX_ROOMS_REMEMBERED) previous.delete(previous.keys().next().value as RoomId);
    const ring = result.plan.ring.map((s) => ({ peerId: s.peerId as string, start: s.start, end: s.end }));
    opts.log?.info({ room, epoch, ring }, 'ring plan');
    return { kind: 'planned', modelId: model.modelId, numLayers: model.shape.numLayers, ring, seeders: result.plan.seeders.map((s) => s.peerId as PeerId as string) };
  };
}
