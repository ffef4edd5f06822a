// Who reads what from the origin, as one swarm sees it (docs/pieces.md, "Scheduler"): the room's
// members as origin candidates, the probes a newcomer sends before reading a piece that moved to
// it, the origin reads in progress, and the pause after a failed one. The decisions themselves are
// pure (origin-assignment.ts, scheduler.ts); this is the state they are made on.
import type { OriginCandidate } from './origin-assignment.ts';
import { describeOriginRead } from './origin-trace.ts';
import type { PieceKey } from './piece-ref.ts';
import type { PieceSession } from './piece-session.ts';
import type { PeerView } from './scheduler.ts';

/** How long a failed origin read pauses the origin: a struggling origin gets to breathe. */
const ORIGIN_PAUSE_MS = 2000;

/** The scheduler's view of the room: who to ask for pieces, and who else may read the origin. */
export interface RoomView {
  /** Sessions not stalled: asked for pieces. */
  readonly live: readonly PieceSession[];
  readonly peers: readonly PeerView<PieceKey>[];
  /** Members not connected (yet), and stalled sessions: origin candidates only. */
  readonly pendingMembers: readonly OriginCandidate[];
}

export class OriginCoordination {
  /** Room members: when I first saw each, and when it joined (-Infinity: before me). */
  private readonly members = new Map<string, { seenAt: number; joinedAt: number }>();
  /** The room as signaling last reported it. */
  private room: ReadonlySet<string> | undefined;
  /** Origin reads in progress, until stored or failed (the scheduler's in-flight requests to ORIGIN). */
  readonly reading = new Set<PieceKey>();
  /** The same reads as promises, until settled: a probe for one of them waits for it (`landing`). */
  private readonly reads = new Map<PieceKey, Promise<void>>();
  /** Probes sent (key → the member asked) and, per key, the members that refused (see `decideOrigin`). */
  private readonly probes = new Map<PieceKey, string>();
  readonly released = new Map<PieceKey, Set<string>>();
  /** When each origin-only piece started waiting (`trackWaiting`). */
  waiting = new Map<PieceKey, number>();
  private pausedUntil = 0;

  /** A member I connected to; seen now unless signaling reported it before. */
  connected(id: string, now: number): void {
    if (!this.members.has(id)) this.members.set(id, { seenAt: now, joinedAt: now });
  }

  /**
   * The room as signaling reports it (ids other than mine); `connected` members stay even when not
   * listed (their session decides). `beforeMe`: they were there when I joined, maybe fetching already.
   */
  setRoom(ids: readonly string[], beforeMe: boolean, now: number, isConnected: (id: string) => boolean): void {
    const keep = new Set(ids);
    this.room = keep;
    for (const id of [...this.members.keys()]) if (!keep.has(id) && !isConnected(id)) this.members.delete(id);
    for (const id of ids) if (!this.members.has(id)) this.members.set(id, { seenAt: now, joinedAt: beforeMe ? Number.NEGATIVE_INFINITY : now });
  }

  /** Whether signaling says `id` left the room (a killed process): its session is not waited on. */
  leftRoom(id: string): boolean {
    return this.room !== undefined && !this.room.has(id);
  }

  /** A session closed: gone from the room too, it is no longer an origin candidate anyone waits on. */
  disconnected(id: string): void {
    if (this.leftRoom(id)) this.members.delete(id);
  }

  get memberCount(): number {
    return this.members.size;
  }

  /**
   * Splits sessions into live ones (asked for pieces) and stalled ones, which stay origin
   * candidates with the members not connected: every peer must see the same candidates to agree
   * on designees, and the stall rule already moves a stuck one's pieces to the origin.
   */
  view(sessions: ReadonlyMap<string, PieceSession>, isBanned: (id: string) => boolean, stallMs: number): RoomView {
    const all = [...sessions.values()];
    // For the origin stall rule, a designee that still talks (HAVE, REQUEST, PIECE, PONG) is slow,
    // not stuck: it will get to its origin pieces. Only silence (a dead process) hands them over.
    const candidate = (s: PieceSession): OriginCandidate => ({
      id: s.id,
      wants: () => true,
      connected: true,
      seenAt: s.connectedAt,
      joinedAt: this.members.get(s.id)?.joinedAt ?? s.connectedAt,
      lastProgressAt: Math.max(s.lastProgressAt, s.lastHeard),
    });
    const live = all.filter((s) => !s.stalled(stallMs));
    const peers = live.map((s) => ({ ...candidate(s), has: s.has, throughput: s.throughput }));
    const pendingMembers: OriginCandidate[] = [...this.members]
      .filter(([id]) => !sessions.has(id) && !isBanned(id))
      .map(([id, m]) => ({ id, wants: () => true, connected: false, seenAt: m.seenAt, joinedAt: m.joinedAt, lastProgressAt: m.seenAt }));
    for (const s of all) if (!live.includes(s)) pendingMembers.push(candidate(s));
    return { live, peers, pendingMembers };
  }

  /** Whether origin reads may start now (none failed within the pause). */
  open(now: number): boolean {
    return now >= this.pausedUntil;
  }

  /** An origin read failed: no new ones for a while. */
  pause(now: number): void {
    this.pausedUntil = now + ORIGIN_PAUSE_MS;
  }

  /** Keeps `read` as the origin read of `key` until it settles; the returned promise settles after. */
  land(key: PieceKey, read: Promise<void>): Promise<void> {
    this.reads.set(key, read);
    return read.finally(() => this.reads.delete(key));
  }

  /** The origin read of `key` in progress, if any. */
  landing(key: PieceKey): Promise<void> | undefined {
    return this.reads.get(key);
  }

  /** A REQUEST went to `peer` for a piece it did not announce: a probe (it may be reading it). */
  probed(key: PieceKey, peer: string): void {
    this.probes.set(key, peer);
  }

  /** A request to `peer` for `key` failed: if it was a probe, `peer` is not reading it (one fewer to ask). */
  refused(key: PieceKey, peer: string): void {
    if (this.probes.get(key) !== peer) return;
    this.probes.delete(key);
    const refused = this.released.get(key) ?? new Set<string>();
    refused.add(peer);
    this.released.set(key, refused);
  }

  /** The piece is stored: no probe for it is pending any more. */
  stored(key: PieceKey): void {
    this.probes.delete(key);
  }

  /** One line for `PieceSwarmOptions.trace` on why the origin read of `key` starts. */
  describe(key: PieceKey, self: string, startedAt: number, now: number, members: readonly OriginCandidate[]): string {
    return describeOriginRead({ key, self, startedAt, now, waitingSince: this.waiting.get(key), refusedBy: this.released.get(key) ?? [], members });
  }
}
