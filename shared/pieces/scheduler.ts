import { decideOrigin, type OriginAssignmentLimits, type OriginCandidate } from './origin-assignment.ts';

/** The origin as a request target; peers are named by their peer id. */
export const ORIGIN = 'origin';

// Piece keys are opaque here (`K`): the swarm schedules PieceKeys, tables in tests use plain names.

/** A piece I still lack. `tier` 0 = a unit of my own partition, 1 = the rest (replica=full). */
export interface WantedPiece<K extends string = string> {
  readonly key: K;
  readonly tier: number;
  readonly length: number;
}

/** A connected peer as the scheduler sees it. */
export interface PeerView<K extends string = string> extends OriginCandidate {
  /** Keys of the pieces it announced (BITFIELD + HAVE). */
  readonly has: ReadonlySet<K>;
  /** Measured bytes/s of its PIECEs to me; undefined until measured. */
  readonly throughput: number | undefined;
}

export interface InFlight<K extends string = string> {
  readonly key: K;
  /** A peer id or ORIGIN. */
  readonly source: string;
}

export interface SchedulerLimits extends OriginAssignmentLimits {
  /** Requests in flight per peer: at least this many (pipelining hides the round trip) … */
  readonly minPerPeer: number;
  /** … at most this many … */
  readonly maxPerPeer: number;
  /** … and in between, enough to keep `queueMs` of the peer's measured throughput queued. */
  readonly queueMs: number;
  readonly maxOrigin: number;
  /** Endgame: once every wanted piece is requested, at most this many extra copies per piece. */
  readonly endgameDuplicates: number;
}

export interface SchedulerState<K extends string = string> {
  readonly self: string;
  /** When this peer joined (its swarm started), for the origin handoff rule. */
  readonly selfSince?: number;
  readonly now: number;
  /** Pieces not yet verified, in priority order (needed first). */
  readonly wanted: readonly WantedPiece<K>[];
  readonly peers: readonly PeerView<K>[];
  /** Room members seen through signaling but not (yet) connected; candidates for origin duty. */
  readonly pendingMembers: readonly OriginCandidate[];
  readonly inFlight: readonly InFlight<K>[];
  readonly hasOrigin: boolean;
  /** When each origin-only piece started waiting (see `trackWaiting`). */
  readonly waitingSince: ReadonlyMap<K, number>;
  /** Per key, the peers that answered a probe after my join: they are not fetching it (see `decideOrigin`). */
  readonly released?: ReadonlyMap<K, ReadonlySet<string>>;
  readonly limits: SchedulerLimits;
}

export type Action<K extends string = string> =
  { readonly kind: 'request'; readonly key: K; readonly source: string } | { readonly kind: 'cancel'; readonly key: K; readonly source: string };

export const DEFAULT_LIMITS: SchedulerLimits = {
  minPerPeer: 2,
  maxPerPeer: 8,
  queueMs: 250,
  maxOrigin: 3,
  endgameDuplicates: 1,
  // Room members count as origin candidates this long before they connect: as long as the
  // long-wait fallback, so slow connects on a loaded machine do not split the peers' views.
  connectGraceMs: 60_000,
  // For this long after a join, a piece that moved to the newcomer is first asked of its previous
  // designee (a probe: one round trip), or left to it while it is not connected to the newcomer
  // (its HAVEs could not reach it): as long as the connect grace, since WebRTC connects among many
  // peers on a loaded machine take tens of seconds.
  handoffMs: 60_000,
  // A designee silent this long is taken for stuck. Not shorter: with 8 peers on 2 loaded cores,
  // live peers went 5 s without a frame, and each false verdict costs the origin a second read.
  // A dead peer is found faster anyway: it left the signaling room, and its session is closed.
  stallMs: 15_000,
  fallbackMs: 60_000,
};

/**
 * Decides the next requests (pure; randomness only through `rng`). Rules, in order:
 * 1. cancel requests for pieces no longer wanted (an endgame duplicate whose twin arrived);
 * 2. pieces no request covers, by tier (my partition first), then rarest first among connected
 *    peers, random among equals, go to the holder that would finish them soonest
 *    ((queued + 1) / throughput), within its pipeline depth;
 * 3. pieces no connected peer holds go to the origin only when `decideOrigin` says this peer is
 *    the one to fetch them (at most `maxOrigin` at a time); a piece a join moved to me is first
 *    requested from its previous designee (a probe: it may be reading it already);
 * 4. endgame: when nothing is left unrequested, in-flight peer requests get duplicates at other
 *    holders with spare depth (the origin is never duplicated: it would cost origin bytes).
 */
export function selectPieces<K extends string>(state: SchedulerState<K>, rng: () => number): Action<K>[] {
  const { limits } = state;
  const actions: Action<K>[] = [];
  const wantedKeys = new Set(state.wanted.map((w) => w.key));
  const load = new Map<string, number>();
  const covering = new Map<K, Set<string>>();
  for (const f of state.inFlight) {
    if (!wantedKeys.has(f.key)) {
      actions.push({ kind: 'cancel', key: f.key, source: f.source });
      continue;
    }
    load.set(f.source, (load.get(f.source) ?? 0) + 1);
    let set = covering.get(f.key);
    if (!set) covering.set(f.key, (set = new Set()));
    set.add(f.source);
  }
  const depth = (p: PeerView<K>): number =>
    p.throughput === undefined
      ? limits.minPerPeer
      : Math.max(limits.minPerPeer, Math.min(limits.maxPerPeer, Math.ceil((p.throughput * limits.queueMs) / 1000 / avgLength(state.wanted))));
  const knownRates = state.peers.map((p) => p.throughput).filter((t): t is number => t !== undefined);
  const defaultRate = knownRates.length ? knownRates.reduce((a, b) => a + b, 0) / knownRates.length : 1;
  const finishCost = (p: PeerView<K>): number => ((load.get(p.id) ?? 0) + 1) / (p.throughput ?? defaultRate);

  const pickHolder = (key: K, exclude: ReadonlySet<string> | undefined): PeerView<K> | undefined => {
    let best: PeerView<K> | undefined;
    let bestCost = Number.POSITIVE_INFINITY;
    let ties = 0;
    for (const p of state.peers) {
      if (!p.has.has(key) || exclude?.has(p.id) || (load.get(p.id) ?? 0) >= depth(p)) continue;
      const cost = finishCost(p);
      if (cost < bestCost) {
        best = p;
        bestCost = cost;
        ties = 1;
      } else if (cost === bestCost && rng() * ++ties < 1) best = p; // reservoir pick among equals
    }
    return best;
  };
  const assign = (key: K, source: string): void => {
    actions.push({ kind: 'request', key, source });
    load.set(source, (load.get(source) ?? 0) + 1);
  };

  const holders = (key: K): number => state.peers.reduce((n, p) => n + (p.has.has(key) ? 1 : 0), 0);
  const open = state.wanted
    .filter((w) => !covering.has(w.key))
    .map((w) => ({ w, rarity: holders(w.key), tie: rng() }))
    .sort((a, b) => a.w.tier - b.w.tier || a.rarity - b.rarity || a.tie - b.tie);

  const members = [...state.peers, ...state.pendingMembers];
  for (const { w, rarity } of open) {
    if (rarity > 0) {
      const peer = pickHolder(w.key, undefined);
      if (peer) assign(w.key, peer.id);
    } else if (state.hasOrigin) {
      const since = state.waitingSince.get(w.key) ?? state.now;
      const d = decideOrigin(w.key, state.self, members, since, state.now, limits, state.selfSince, state.released?.get(w.key));
      if (d === 'fetch') {
        if ((load.get(ORIGIN) ?? 0) < limits.maxOrigin) assign(w.key, ORIGIN);
      } else if (d !== 'wait') {
        const p = state.peers.find((x) => x.id === d.probe.id);
        if (p && (load.get(p.id) ?? 0) < limits.maxPerPeer) assign(w.key, p.id); // a probe costs one round trip
      }
    }
  }

  if (open.length === 0 && limits.endgameDuplicates > 0) {
    for (const w of state.wanted) {
      const sources = covering.get(w.key);
      if (!sources || sources.has(ORIGIN) || sources.size > limits.endgameDuplicates) continue;
      const peer = pickHolder(w.key, sources);
      if (peer) assign(w.key, peer.id);
    }
  }
  return actions;
}

/**
 * Keeps `waitingSince` for origin-only pieces: a wanted piece that no connected peer holds and no
 * request covers starts waiting now; any other piece stops waiting. Returns a new map.
 */
export function trackWaiting<K extends string>(state: Omit<SchedulerState<K>, 'waitingSince'> & { waitingSince: ReadonlyMap<K, number> }): Map<K, number> {
  const covered = new Set(state.inFlight.map((f) => f.key));
  const next = new Map<K, number>();
  for (const w of state.wanted) {
    if (covered.has(w.key) || state.peers.some((p) => p.has.has(w.key))) continue;
    next.set(w.key, state.waitingSince.get(w.key) ?? state.now);
  }
  return next;
}

function avgLength(wanted: readonly WantedPiece<string>[]): number {
  if (wanted.length === 0) return 1;
  let n = 0;
  for (const w of wanted) n += w.length;
  return Math.max(1, n / wanted.length);
}
