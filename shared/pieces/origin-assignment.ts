/**
 * Who fetches an origin-only piece (docs/pieces.md "the origin serves each piece about once").
 *
 * Every peer that wants a piece nobody holds computes the same designee: the candidates (me plus
 * the room members that want it and are connected, or were seen too recently to have connected
 * yet), ranked by a rendezvous hash of (candidate, piece key). Only the designee asks the origin at
 * once; the others wait for its HAVE and then fetch from it (or from whoever got it first). A
 * waiting peer falls back to the origin itself when the designee makes no progress (no HAVE for
 * `stallMs`, counted from when the piece started waiting at the earliest) or the piece has waited
 * longer than `fallbackMs` (views of the room that disagree for long, a designee that does not
 * want the piece after all). Fallbacks go down the candidate line one `stallMs` apart, so one
 * peer takes over, not all at once. A piece that a join moved to a newcomer is first asked of
 * its previous designee (`decideOrigin`'s probe), which may be reading it already. So the origin
 * normally serves a piece once, and never fewer than once when peers die.
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
   * from someone else is first asked of them (probed) when connected, or left to them while not:
   * they may be fetching it already under the old view.
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

/**
 * Rendezvous (highest random weight) score of candidate `id` for `key`: every peer computes the
 * same order of candidates for a piece. Unlike an index into the sorted member list, a join moves
 * only the pieces the newcomer now heads (about 1/n of them), and no piece between old members,
 * so a join disturbs as few origin reads in progress as possible.
 */
function weight(key: string, id: string): number {
  // FNV-1a is weak in its last bytes; murmur3's finalizer spreads them.
  let h = hashKey(`${id}\u0000${key}`);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** The id every peer agrees should fetch `key` from the origin. */
export function originDesignee(
  key: string,
  self: string,
  members: readonly OriginCandidate[],
  now: number,
  limits: OriginAssignmentLimits,
): OriginCandidate | 'self' {
  return originOrder(key, self, members, now, limits).designee;
}

/**
 * The candidates for `key` in rendezvous order, the designee (the first), and my rank (0: I am
 * the designee, 1: next in line, …). Every peer computes the same line from the same view.
 */
function originOrder(
  key: string,
  self: string,
  members: readonly OriginCandidate[],
  now: number,
  limits: OriginAssignmentLimits,
): { designee: OriginCandidate | 'self'; rank: number; line: (OriginCandidate | 'self')[] } {
  const candidates: (OriginCandidate | 'self')[] = ['self'];
  for (const m of members) {
    if (m.id === self || !m.wants(key)) continue;
    if (m.connected || now - m.seenAt < limits.connectGraceMs) candidates.push(m);
  }
  const id = (c: OriginCandidate | 'self'): string => (c === 'self' ? self : c.id);
  const scored = candidates.map((c) => ({ c, w: weight(key, id(c)) }));
  scored.sort((a, b) => b.w - a.w || (id(a.c) < id(b.c) ? -1 : id(a.c) > id(b.c) ? 1 : 0));
  return { designee: scored[0]?.c ?? 'self', rank: scored.findIndex((s) => s.c === 'self'), line: scored.map((s) => s.c) };
}

/**
 * What to do about `key`, which no connected peer has: `fetch` it from the origin now, `wait`
 * (another peer is to fetch it), or `probe` a peer first: the piece became mine through my recent
 * join, and any member that was there before me may have headed it at some point and be reading it
 * from the origin right now (who did depends on the order they joined in, which I cannot see). A
 * REQUEST to each is answered once its read lands (PIECE) or at once when it is not reading it
 * (REJECT); only when all of them refused (`refusedBy`) do I go to the origin, and while one of
 * them is not connected yet I wait (up to handoffMs). A join therefore never costs the origin a
 * second read of a piece in flight, whatever the read's duration.
 */
export type OriginDecision = 'fetch' | 'wait' | { readonly probe: OriginCandidate };

export function decideOrigin(
  key: string,
  self: string,
  members: readonly OriginCandidate[],
  waitingSince: number,
  now: number,
  limits: OriginAssignmentLimits,
  /** When I joined (my own `seenAt`). */
  selfSince = Number.NEGATIVE_INFINITY,
  /** Peers that answered a probe for this key: they are not fetching it. */
  refusedBy: ReadonlySet<string> = new Set(),
): OriginDecision {
  const { designee, rank, line } = originOrder(key, self, members, now, limits);
  // Fallbacks cascade down the line, one stallMs apart: the first peer to fetch announces the
  // piece (HAVE), which ends the wait for everyone behind it, so a piece nobody took (views that
  // disagreed) costs the origin one extra read, not one per waiting peer.
  const cascade = Math.max(0, rank - 1) * limits.stallMs;
  // A peer ahead of me in the line that still talks has taken the piece over (or will): its
  // origin reads may queue behind others (maxOrigin), so a timer alone would read the piece twice
  // when many pieces fall back at once (a dead seed's). Only views that disagree for another
  // fallbackMs make me read it anyway.
  const aheadAlive = line.slice(1, Math.max(1, rank)).some((c) => c !== 'self' && c.connected && now - c.lastProgressAt < limits.stallMs);
  if (aheadAlive && now - waitingSince < 2 * limits.fallbackMs + cascade) return 'wait';
  if (now - waitingSince >= limits.fallbackMs + cascade) return 'fetch';
  if (designee === 'self') {
    const ask = handoffSources(key, self, members, now, limits, selfSince).filter((m) => !refusedBy.has(m.id));
    if (ask.length === 0) return 'fetch';
    const next = ask.find((m) => m.connected);
    return next ? { probe: next } : 'wait';
  }
  if (!designee.connected) return 'wait'; // still within its connect grace
  // The designee gets stallMs from when the piece started waiting: a swarm-wide hold-up (a dead
  // peer everyone waited on) must not make every peer fetch the same piece at once.
  return now - Math.max(designee.lastProgressAt, waitingSince) >= limits.stallMs + cascade ? 'fetch' : 'wait';
}

/** Whether I should fetch `key` (no connected peer has it) from the origin now, without probing. */
export function shouldFetchFromOrigin(
  key: string,
  self: string,
  members: readonly OriginCandidate[],
  waitingSince: number,
  now: number,
  limits: OriginAssignmentLimits,
  selfSince = Number.NEGATIVE_INFINITY,
): boolean {
  return decideOrigin(key, self, members, waitingSince, now, limits, selfSince) === 'fetch';
}

/**
 * Who may be reading `key` from the origin although it is mine now: when I joined within
 * handoffMs, every member that was there before me (any of them may have headed it before I came);
 * otherwise, if recent joins changed the view, the piece's designee in the view without them.
 * Empty when the piece did not move to me.
 */
function handoffSources(
  key: string,
  self: string,
  members: readonly OriginCandidate[],
  now: number,
  limits: OriginAssignmentLimits,
  selfSince: number,
): OriginCandidate[] {
  const live = (m: OriginCandidate): boolean => m.connected || now - m.seenAt < limits.connectGraceMs;
  const recent = (t: number): boolean => now - t < limits.handoffMs;
  const old = members.filter((m) => live(m) && !recent(m.joinedAt ?? m.seenAt));
  if (old.length === 0) return []; // nobody was there before: nobody can be fetching it
  if (recent(selfSince)) return old;
  if (old.length === members.filter(live).length) return []; // nobody new: the view did not change
  const before = originOrder(key, self, old, now, limits).designee;
  return before === 'self' ? [] : [before];
}
