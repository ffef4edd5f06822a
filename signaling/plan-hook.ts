// The ring planner as the signaling server's plan hook: on every membership change (and when a
// member's model report arrives) it plans the room's rings from the members' capabilities and the
// round trips trusted members measured (planRoom: the fastest ring, then replica rings; docs/planner.md),
// re-planning from the room's previous plan so few layers move. It plans only the room's own model
// (the room id, or the model the operator set for the room), from the shape the server derived
// from a verified manifest (model-report.ts), never from a shape a member claimed.
import type { Logger } from 'pino';
import type { PeerId, RoomId } from '../shared/ids.ts';
import type { Member } from '../shared/planner/member.ts';
import type { Plan, PlanStage } from '../shared/planner/plan.ts';
import { planPartition } from '../shared/planner/plan-partition.ts';
import { planRoom } from '../shared/planner/plan-room.ts';
import type { RoomPlan } from '../shared/planner/room-plan.ts';
import type { RttSample } from '../shared/planner/rtt.ts';
import { RTT_REPORT, rttReportSchema } from '../shared/ring/rtt-report.ts';
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
  /**
   * `latency` (default): planRoom — fewest hops and replica rings by expected ms per token.
   * `memory`: planPartition — one ring over the members, layers in proportion to memory ÷ speed.
   */
  readonly placement?: 'latency' | 'memory';
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
  const trusted = members
    .filter((m) => m.role === 'trusted')
    .map((m) => m.capabilities.speedMsPerLayer ?? DEFAULT_SPEED_MS_PER_LAYER)
    .sort((a, b) => a - b);
  return trusted.length === 0 ? DEFAULT_SPEED_MS_PER_LAYER : (trusted[Math.floor((trusted.length - 1) / 2)] as number);
}

/**
 * Round trips as the planner takes them: only what trusted members measured (their latest `rtt`
 * reports) of links to members still here. A contributor could report low round trips to win a
 * ring's ends or high ones to push honest members out; trusted members' word is all the plan uses.
 */
export function trustedRttSamples(members: readonly MemberView[]): RttSample[] {
  const here = new Set<string>(members.map((m) => m.peerId));
  const out: RttSample[] = [];
  for (const m of members) {
    if (m.role !== 'trusted') continue;
    const r = rttReportSchema.safeParse(m.reports.get(RTT_REPORT)?.data);
    if (!r.success) continue;
    for (const l of r.data.links) if (l.peer !== m.peerId && here.has(l.peer)) out.push({ a: m.peerId, b: l.peer as PeerId, rttMs: l.rttMs });
  }
  return out;
}

const wireStages = (ring: readonly PlanStage[]): { peerId: string; start: number; end: number }[] =>
  ring.map((s) => ({ peerId: s.peerId as string, start: s.start, end: s.end }));

/** Report kinds after which the room is planned again (the model shape arriving). */
export const REPLAN_REPORT_KINDS: ReadonlySet<string> = new Set([MODEL_REPORT]);

export function createRingPlanHook(opts: RingPlanHookOptions = {}): PlanHook {
  const previous = new Map<RoomId, { modelId: string; plan: Plan | RoomPlan }>();
  const latency = (opts.placement ?? 'latency') === 'latency';
  return (room, members, epoch): RingPlan | undefined => {
    const model = roomModel(room, members, opts.roomModels);
    if (model === undefined) return undefined; // nobody told us the model yet: nothing to plan
    const planMembers = plannerMembers(members);
    const before = previous.get(room);
    const usable = before !== undefined && before.modelId === model.modelId && before.plan.ring.at(-1)?.end === model.shape.numLayers;
    const prior = usable ? before.plan : undefined;
    const result = latency
      ? planRoom(model.shape, planMembers, { rttMs: trustedRttSamples(members), ...(prior === undefined ? {} : { previous: prior }) })
      : planPartition(model.shape, planMembers, prior);
    if (result.kind === 'insufficient') {
      opts.log?.info({ room, epoch, missingBytes: result.missingBytes }, 'ring plan: insufficient memory');
      return { kind: 'insufficient', modelId: model.modelId, missingBytes: result.missingBytes, requiredBytes: result.requiredBytes };
    }
    previous.delete(room);
    previous.set(room, { modelId: model.modelId, plan: result.plan });
    if (previous.size > MAX_ROOMS_REMEMBERED) previous.delete(previous.keys().next().value as RoomId);
    const ring = wireStages(result.plan.ring);
    // `ring` stays the first ring, so a peer that knows only `ring` serves (or uses) that one.
    const plan: Plan | RoomPlan = result.plan;
    const rings = 'rings' in plan ? (plan as RoomPlan).rings.map((r) => (r.ring === plan.ring ? ring : wireStages(r.ring))) : undefined;
    opts.log?.info({ room, epoch, rings: rings ?? [ring] }, 'ring plan');
    return {
      kind: 'planned',
      modelId: model.modelId,
      numLayers: model.shape.numLayers,
      ring,
      ...(rings === undefined ? {} : { rings }),
      seeders: result.plan.seeders.map((s) => s.peerId as PeerId as string),
    };
  };
}
