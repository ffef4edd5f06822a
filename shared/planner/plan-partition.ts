import { canonicalMembers, type Member } from './member.ts';
import { missingBytes } from './capacity.ts';
import { totalModelBytes, validateModelShape, type ModelShape } from './model-shape.ts';
import { layoutToPlan, toEntries, type Entry, type Layout } from './layout.ts';
import { freshLayout } from './fresh-layout.ts';
import { fewestMovesLayout } from './fewest-moves.ts';
import { InsufficientMemoryError, InvalidPlanInputError } from './errors.ts';
import { endRulesFor, type EndRule } from './roles.ts';
import type { Plan, PlanOptions, PlanResult } from './plan.ts';

/**
 * Splits the model's layers into a ring over `members` (algorithm and guarantees in
 * docs/planner.md). Pure and deterministic: the member order does not matter, ties go by peer id.
 *
 * - Every layer is owned by exactly one stage; no stage's reservedBytes exceeds its budget
 *   (layers × (weights + KV at contextTokens), + embed on the first stage, + head on the last).
 * - Layer counts are within one layer of the memory-capped split in proportion to
 *   memory ÷ time-per-layer (exo's memory-proportional split when speeds are equal).
 * - With `previous`, ring order and rounding are chosen to move as few layers as possible, and
 *   never more than a from-scratch plan would; `options.moveSlackLayers` trades balance for fewer
 *   moves (counts then within 1 + slack layers of their quota).
 * - Trusted members (`role`) with room hold the first and the last stage, or the whole ring; if
 *   only the first can be trusted, it is; otherwise the plan is as without roles ("Roles").
 * - Members too small for a layer, or whose share rounds to nothing, are seeders.
 * - When no ring can hold the model: `insufficient` with the exact budget one more peer would need.
 *
 * Throws InvalidPlanInputError / DuplicateMemberError on malformed input.
 */
export function planPartition(model: ModelShape, members: readonly Member[], previous?: Plan, options: PlanOptions = {}): PlanResult {
  validateModelShape(model);
  const slack = options.moveSlackLayers ?? 0;
  if (!Number.isSafeInteger(slack) || slack < 0) throw new InvalidPlanInputError('options.moveSlackLayers', `${slack} must be an integer ≥ 0`);
  const all = toEntries(model, canonicalMembers(members));
  const missing = missingBytes(
    model,
    all.map((e) => e.cap),
  );
  const eligible = all.filter((e) => e.cap.middle >= 1);
  const fresh = missing > 0 ? null : roleLayout(eligible, model.numLayers);
  if (fresh === null) {
    return {
      kind: 'insufficient',
      missingBytes: missing,
      requiredBytes: totalModelBytes(model),
      offeredBytes: all.reduce((s, e) => s + e.member.memoryBytes, 0),
    };
  }
  const layout = previous === undefined ? fresh.layout : fewestMovesLayout(fresh.layout, previous, model.numLayers, slack, fresh.rule);
  return { kind: 'planned', plan: layoutToPlan(model, layout, all) };
}

/** The fresh layout under the most private end rule that can hold the model, and that rule. */
function roleLayout(eligible: readonly Entry[], numLayers: number): { layout: Layout; rule: EndRule } | null {
  for (const rule of endRulesFor(eligible)) {
    const layout = freshLayout(eligible, numLayers, rule);
    if (layout !== null) return { layout, rule };
  }
  return null;
}

/** The plan, or an InsufficientMemoryError for edges that report failures as exceptions. */
export function requirePlan(result: PlanResult): Plan {
  if (result.kind === 'insufficient') throw new InsufficientMemoryError(result.missingBytes, result.requiredBytes);
  return result.plan;
}
