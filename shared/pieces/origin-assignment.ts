/**
 * Who fetches an origin-only piece (DESIGN §5 "the origin serves each piece about once").
 *
 * Every peer that wants a piece nobody holds computes the same designee: the candidates (me plus
 * the room members that want it and are connected, or were seen too recently to have connected
 * yet), sorted by id, indexed by a hash of the piece key. Only the designee asks the origin at
 * once; the others wait for its HAVE and then fetch from it (or from whoever got it first). A
 * waiting peer falls back to the origin itself when the designee makes no progress (no HAVE for
 * `stallMs`, counted from when the piece started waiting at the earliest) or the piece has waited
 * longer than `fallbackMs` (views of the room that disagree for long, a designee that does not
 * want the piece after all). Fallbacks go down the candidate line one `stallMs` apart, so one
 * peer takes over, not all at once. So the origin normally serves a piece once, and never fewer
 * than once when peers die.
 */
export interface OriginCandidate {
  readonly id: string;
  /** Whether it wants this piece (replica=full peers want everything). */
  readonly wants: (key: string) => boolean;
  /** Connected to me (its HAVEs reach me). */
  readonly connected: boolean;
  /** Epoch ms when it was first seen in the room (signaling) or connected. */
  readonly seenAt: number;
  /** Epoch ms when it joined the room as far as I know: -Infinity for members already there when I joined. */
  readonly joinedAt?: number;
  /** Epoch ms of its last HAVE to me, or of the connection when it sent none yet. */
  readonly lastProgressAt: number;
}

export interface OriginAssignmentLimits {
  /** How long a member seen in the room but not yet connected still counts as a candidate. */
  readonly connectGraceMs: number;
  /** A designee that sent no HAVE for this long is treated as stalled. */
  readonly stallMs: number;
  /** A piece that waited this long for its designee is fetched from the origin anyway. */
  readonly fallbackMs: number;
  /**
   * After a member joins (or I join), assignments move. For this long, a piece that moved to me
   * from someone else is left to them: they may be fetching it already under the old view.
   */
  readonly handoffMs: number;
}

/** FNV-1a: the same 32-bit hash of a piece key on every peer and platform. */
export function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The id every peer agrees should fetch `key` from the origin. */
export function originDesignee(key: string, self: string, members: readonly OriginCandidate[], now: number, limits: OriginAssignmentLimits): OriginCandidate | 'self' {
  return originOrder(key, self, members, now, limits).designee;
}

/**
 * The candidates for `key` in id order, the designee, and my rank after it (0: I am the designee,
 * 1: next in line, …). Every peer computes the same line from the same view.
 */
function originOrder(key: string, self: string, members: readonly OriginCandidate[], now: number, limits: OriginAssignmentLimits): { designee: OriginCandidate | 'self'; rank: number } {
  const candidates: (OriginCandidate | 'self')[] = ['self'];
  for (const m of members) {
    if (m.id === self || !m.wants(key)) continue;
    if (m.connected || now - m.seenAt < limits.connectGraceMs) candidates.push(m);
  }
  const id = (c: OriginCandidate | 'self'): string => (c === 'self' ? self : c.id);
  candidates.sort((a, b) => (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0));
  const at = hashKey(key) % candidates.length;
  const mine = candidates.indexOf('self');
  return { designee: candidates[at] ?? 'self', rank: (mine - at + candidates.length) % candidates.length };
}

/** Whether I should fetch `key` (no connected peer has it) from the origin now. */
export function shouldFetchFromOrigin(
  key: string,
  self: string,
  members: readonly OriginCandidate[],
  waitingSince: number,
  now: number,
  limits: OriginAssignmentLimits,
  /** When I joined (my own `seenAt`). */
  selfSince = Number.NEGATIVE_INFINITY,
): boolean {
  const { designee, rank } = originOrder(key, self, members, now, limits);
  // Fallbacks cascade down the line, one stallMs apart: the first peer to fetch announces the
  // piece (HAVE), which ends the wait for everyone behind it, so a piece nobody took (views that
  // disagreed) costs the origin one extra read, not one per waiting peer.
  const cascade = Math.max(0, rank - 1) * limits.stallMs;
  if (now - waitingSince >= limits.fallbackMs + cascade) return true;
  if (designee === 'self') return !movedFromOther(key, self, members, now, limits, selfSince);
  if (!designee.connected) return false; // still within its connect grace
  // The designee gets stallMs from when the piece started waiting: a swarm-wide hold-up (a dead
  // peer everyone waited on) must not make every peer fetch the same piece at once.
  return now - Math.max(designee.lastProgressAt, waitingSince) >= limits.stallMs + cascade;
}

/** Whether `key` belonged to another candidate in the view before the joins of the last handoffMs. */
function movedFromOther(key: string, self: string, members: readonly OriginCandidate[], now: number, limits: OriginAssignmentLimits, selfSince: number): boolean {
  const live = (m: OriginCandidate): boolean => m.connected || now - m.seenAt < limits.connectGraceMs;
  const recent = (t: number): boolean => now - t < limits.handoffMs;
  const old = members.filter((m) => live(m) && !recent(m.joinedAt ?? m.seenAt));
  if (old.length === 0) return false; // nobody was there before: nobody can be fetching it
  if (recent(selfSince)) return true; // I am new: in the old view it was one of theirs
  if (old.length === members.filter(live).length) return false; // nobody new: the view did not change
  return originDesignee(key, self, old, now, limits) !== 'self';
}
