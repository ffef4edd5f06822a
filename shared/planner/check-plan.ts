import { InvalidPlanError } from './errors.ts';
import type { Member } from './member.ts';
import { stageBytes, type ModelShape } from './model-shape.ts';
import type { Plan } from './plan.ts';

/**
 * Checks a plan against the model and members: stages are contiguous from layer 0 to numLayers,
 * each non-empty, each peer at most once and known, each within its budget. Peers receiving a plan
 * from the server can run this before fetching pieces. Throws InvalidPlanError.
 */
export function checkPlan(shape: ModelShape, members: readonly Member[], plan: Plan): void {
  const budget = new Map(members.map((m) => [m.peerId as string, m.memoryBytes]));
  const seen = new Set<string>();
  let next = 0;
  if (plan.ring.length === 0) throw new InvalidPlanError('the ring has no stages, expected at least one');
  for (const s of plan.ring) {
    if (seen.has(s.peerId)) throw new InvalidPlanError(`peer ${s.peerId} holds two stages, expected one`);
    seen.add(s.peerId);
    if (s.start !== next) throw new InvalidPlanError(`stage of ${s.peerId} starts at layer ${s.start}, expected ${next}`);
    if (!(s.end > s.start)) throw new InvalidPlanError(`stage of ${s.peerId} is [${s.start}, ${s.end}), expected at least one layer`);
    const memory = budget.get(s.peerId);
    if (memory === undefined) throw new InvalidPlanError(`stage peer ${s.peerId} is not a member`);
    const need = stageBytes(shape, s.start, s.end);
    if (need > memory) throw new InvalidPlanError(`stage of ${s.peerId} needs ${need} bytes, its budget is ${memory}`);
    next = s.end;
  }
  if (next !== shape.numLayers) throw new InvalidPlanError(`the ring ends at layer ${next}, expected ${shape.numLayers}`);
  for (const s of plan.seeders) {
    if (seen.has(s.peerId)) throw new InvalidPlanError(`peer ${s.peerId} is both a stage and a seeder`);
    if (!budget.has(s.peerId)) throw new InvalidPlanError(`seeder ${s.peerId} is not a member`);
  }
}
