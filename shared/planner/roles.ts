// Roles in the layout: which members may hold the ring's ends. Stage 0 embeds every token id (the
// prompt and, fed back, every generated token); the last stage samples the generated ones. Trusted
// members (the operator's peers) take those ends when they have room (docs/planner.md, "Roles").
import type { PeerId } from '../ids.ts';
import type { Entry } from './layout.ts';
import type { Member } from './member.ts';
import type { Plan } from './plan.ts';

/** An absent role means `contributor`: only a join token can make a member trusted. */
export function isTrusted(m: Member): boolean {
  return m.role === 'trusted';
}

/**
 * Which members may hold the first stage (embed) and the last stage (head). A one-stage ring is
 * allowed to a member that passes both.
 */
export interface EndRule {
  /** `any` is today's unconstrained planner: no check rejects anything, no stage is added. */
  readonly name: 'trusted-ends' | 'trusted-first' | 'any';
  readonly first: (e: Entry) => boolean;
  readonly last: (e: Entry) => boolean;
}

const trusted = (e: Entry): boolean => isTrusted(e.member);
const anyone = (): boolean => true;

/** Both ends trusted (or one trusted member alone): no contributor sees a token id. */
const TRUSTED_ENDS: EndRule = { name: 'trusted-ends', first: trusted, last: trusted };
/** Stage 0 trusted: the prompt stays private; the last stage, a contributor, sees the outputs. */
const TRUSTED_FIRST: EndRule = { name: 'trusted-first', first: trusted, last: anyone };
export const ANY_ENDS: EndRule = { name: 'any', first: anyone, last: anyone };

/**
 * The rules to try, most private first. Without a trusted member, or when every member is trusted
 * (a private room), only `any`: such rooms are planned exactly as before roles existed.
 */
export function endRulesFor(eligible: readonly Entry[]): readonly EndRule[] {
  const count = eligible.filter(trusted).length;
  if (count === 0 || count === eligible.length) return [ANY_ENDS];
  return [TRUSTED_ENDS, TRUSTED_FIRST, ANY_ENDS];
}

/** Does a ring order respect the rule at its ends? */
export function endsAllowed(order: readonly Entry[], rule: EndRule): boolean {
  const first = order[0];
  const last = order[order.length - 1];
  return first !== undefined && last !== undefined && rule.first(first) && rule.last(last);
}

/** Can `set` supply a first stage and a different last stage under `rule`, each with ≥ 1 layer? */
function hasEndPair(set: readonly Entry[], rule: EndRule): boolean {
  for (const f of set) {
    if (!rule.first(f) || f.cap.first < 1) continue;
    for (const l of set) if (l !== f && rule.last(l) && l.cap.last >= 1) return true;
  }
  return false;
}

/**
 * The stage set with members the rule needs at its ends added: the heaviest (weight, then id) of
 * those that fill a missing end. Returns `stages` itself under `any`, or when it is one member
 * the rule allows alone; null when no member set can satisfy the rule with two or more stages.
 * The result is weight-ordered like `byWeight`.
 */
export function withEndMembers(stages: readonly Entry[], byWeight: readonly Entry[], rule: EndRule, numLayers: number): Entry[] | null {
  const only = stages.length === 1 ? (stages[0] as Entry) : undefined;
  if (rule.name === 'any' || (only !== undefined && rule.first(only) && rule.last(only) && only.cap.only >= numLayers)) return [...stages];
  const set = new Set(stages);
  const canFirst = (e: Entry): boolean => rule.first(e) && e.cap.first >= 1;
  const canLast = (e: Entry): boolean => rule.last(e) && e.cap.last >= 1;
  // One pass over byWeight: each member is added at most once, so this is bounded by its length.
  for (const e of byWeight) {
    const members = [...set];
    if (hasEndPair(members, rule)) break;
    if (set.has(e) || (!canFirst(e) && !canLast(e))) continue;
    const haveFirst = members.some(canFirst);
    const haveLast = members.some(canLast);
    // Both ends are covered only by one member: anyone for either end completes a pair.
    if ((!haveFirst && canFirst(e)) || (!haveLast && canLast(e)) || (haveFirst && haveLast)) set.add(e);
  }
  return hasEndPair([...set], rule) ? byWeight.filter((e) => set.has(e)) : null;
}

/** What a contributor holding a ring end sees in clear: stage 0 every token id, the last stage the outputs. */
export interface TokenExposure {
  readonly peerId: PeerId;
  readonly sees: 'prompt-and-output-ids' | 'output-ids';
}

/**
 * Contributors that see token ids under `plan`: empty when trusted members hold both ends (or the
 * whole ring). For operators' logs; middle stages see only hidden states.
 */
export function tokenExposure(plan: Plan, members: readonly Member[]): TokenExposure[] {
  const byId = new Map(members.map((m) => [m.peerId as string, m]));
  const contributor = (id: PeerId): boolean => {
    const m = byId.get(id);
    return m === undefined || !isTrusted(m);
  };
  const out: TokenExposure[] = [];
  const first = plan.ring[0];
  const last = plan.ring[plan.ring.length - 1];
  if (first !== undefined && contributor(first.peerId)) out.push({ peerId: first.peerId, sees: 'prompt-and-output-ids' });
  if (last !== undefined && last !== first && contributor(last.peerId)) out.push({ peerId: last.peerId, sees: 'output-ids' });
  return out;
}
