// One line per origin read with the view it was decided on (`PieceSwarmOptions.trace`): for
// diagnosing duplicate origin reads across peers (docs/pieces.md, "Scheduler").
import type { OriginCandidate } from './origin-assignment.ts';

export interface OriginReadView {
  readonly key: string;
  readonly self: string;
  /** When this swarm started: times are shown relative to it. */
  readonly startedAt: number;
  readonly now: number;
  /** Since when the piece waited for a source (undefined: not waiting). */
  readonly waitingSince: number | undefined;
  readonly refusedBy: Iterable<string>;
  readonly members: readonly OriginCandidate[];
}

export function describeOriginRead(v: OriginReadView): string {
  const rel = (t: number | undefined): number | null => (t === undefined || !Number.isFinite(t) ? null : t - v.startedAt);
  const member = (m: OriginCandidate): string => `${m.id.slice(0, 6)}${m.connected ? '' : '?'}@${rel(m.joinedAt ?? m.seenAt)}/${rel(m.lastProgressAt)}`;
  return JSON.stringify({
    originRead: v.key,
    self: v.self.slice(0, 6),
    at: v.now - v.startedAt,
    waited: v.now - (v.waitingSince ?? v.now),
    refusedBy: [...v.refusedBy].map((id) => id.slice(0, 6)),
    view: v.members.map(member),
  });
}
