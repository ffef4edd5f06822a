import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { originDesignee, shouldFetchFromOrigin, type OriginCandidate } from '../../../shared/pieces/origin-assignment.ts';
import {
  DEFAULT_LIMITS,
  ORIGIN,
  selectPieces,
  trackWaiting,
  type Action,
  type PeerView,
  type SchedulerState,
  type WantedPiece,
} from '../../../shared/pieces/scheduler.ts';
import { seededRng } from '../../util/pieces-fixtures.ts';

const MB = 1 << 20;
const want = (keys: string[], tier = 0): WantedPiece[] => keys.map((key) => ({ key, tier, length: 4 * MB }));
const peer = (id: string, has: string[], throughput?: number, extra: Partial<PeerView> = {}): PeerView => ({
  id,
  has: new Set(has),
  throughput,
  wants: () => true,
  connected: true,
  seenAt: 0,
  lastProgressAt: 0,
  ...extra,
});
const base = (over: Partial<SchedulerState>): SchedulerState => ({
  self: 'me',
  now: 1000,
  wanted: [],
  peers: [],
  pendingMembers: [],
  inFlight: [],
  hasOrigin: true,
  waitingSince: new Map(),
  limits: DEFAULT_LIMITS,
  ...over,
});
const requests = (actions: Action[]): string[] => actions.filter((a) => a.kind === 'request').map((a) => `${a.key}@${a.source}`);

describe('selectPieces', () => {
  const cases: { name: string; state: SchedulerState; expected: string[] }[] = [
    {
      name: 'rarest first: the piece only one peer has goes first',
      state: base({ wanted: want(['a', 'b']), peers: [peer('p1', ['a', 'b']), peer('p2', ['a'])], limits: { ...DEFAULT_LIMITS, minPerPeer: 1 } }),
      expected: ['b@p1', 'a@p2'],
    },
    {
      name: 'needed first: my partition (tier 0) before the rest, even when rarer',
      state: base({
        wanted: [...want(['rest'], 1), ...want(['mine'], 0)],
        peers: [peer('p1', ['rest', 'mine'])],
        limits: { ...DEFAULT_LIMITS, minPerPeer: 1 },
      }),
      expected: ['mine@p1'],
    },
    {
      name: 'pipelining: several requests in flight per peer, up to its depth',
      state: base({ wanted: want(['a', 'b', 'c', 'd']), peers: [peer('p1', ['a', 'b', 'c', 'd'])] }),
      expected: ['a@p1', 'b@p1'].slice(0, 2),
    },
    {
      name: 'faster peers get more: depth grows with measured throughput',
      state: base({
        wanted: want(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']),
        peers: [peer('fast', ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'], 100 * MB), peer('slow', ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'], 5 * MB)],
      }),
      // fast: depth ceil(100 MB/s × 250 ms / 4 MB) = 7, each cheaper than slow's first; slow gets the 8th
      expected: ['fast', 'fast', 'fast', 'fast', 'fast', 'fast', 'fast', 'slow'],
    },
    {
      name: 'the origin only for pieces no connected peer has, when I am the designee',
      state: base({ wanted: want(['x', 'z']), peers: [peer('p1', ['x'])] }), // I am z's designee
      expected: ['z@origin', 'x@p1'],
    },
    {
      name: 'no origin: origin-only pieces wait',
      state: base({ wanted: want(['y']), hasOrigin: false }),
      expected: [],
    },
    {
      name: 'endgame: an in-flight piece gets a duplicate at another holder, never at the origin',
      state: base({
        wanted: want(['a', 'o']),
        peers: [peer('p1', ['a']), peer('p2', ['a'])],
        inFlight: [
          { key: 'a', source: 'p1' },
          { key: 'o', source: ORIGIN },
        ],
      }),
      expected: ['a@p2'],
    },
  ];
  it.each(cases)('$name', ({ state, expected }) => {
    const got = requests(selectPieces(state, seededRng(7)));
    if (expected.every((e) => !e.includes('@'))) expect(got.map((g) => g.split('@')[1])).toEqual(expected);
    else expect(got).toEqual(expected);
  });

  it('cancels requests for pieces no longer wanted (the twin of an endgame duplicate arrived)', () => {
    const actions = selectPieces(base({ wanted: [], inFlight: [{ key: 'a', source: 'p2' }] }), seededRng(1));
    expect(actions).toEqual([{ kind: 'cancel', key: 'a', source: 'p2' }]);
  });

  it('leaves origin-only pieces to their designee while it makes progress, then falls back', () => {
    // find a key whose designee among {me, p1} is p1
    const p1 = peer('p1', [], undefined, { lastProgressAt: 900 });
    const key = ['k0', 'k1', 'k2', 'k3', 'k4'].find((k) => originDesignee(k, 'me', [p1], 900, DEFAULT_LIMITS) !== 'self') ?? 'k0';
    const s = base({ wanted: want([key]), peers: [p1], waitingSince: new Map([[key, 900]]) });
    expect(requests(selectPieces(s, seededRng(1)))).toEqual([]);
    const stalled = { ...s, now: 900 + DEFAULT_LIMITS.stallMs };
    expect(requests(selectPieces(stalled, seededRng(1)))).toEqual([`${key}@origin`]);
    const waitedLong = { ...s, peers: [{ ...p1, lastProgressAt: 900 + DEFAULT_LIMITS.fallbackMs }], now: 900 + DEFAULT_LIMITS.fallbackMs };
    expect(requests(selectPieces(waitedLong, seededRng(1)))).toEqual([`${key}@origin`]);
  });

  it('counts room members that have not connected yet as designees during their grace', () => {
    const pending: OriginCandidate = { id: 'zz', wants: () => true, connected: false, seenAt: 1000, lastProgressAt: 1000 };
    const keys = Array.from({ length: 40 }, (_, i) => `layer-000#${i}`);
    const s = base({ wanted: want(keys), pendingMembers: [pending], limits: { ...DEFAULT_LIMITS, maxOrigin: 100 } });
    const mine = requests(selectPieces(s, seededRng(3))).length;
    expect(mine).toBeGreaterThan(5);
    expect(mine).toBeLessThan(35);
    const later = { ...s, now: 1000 + DEFAULT_LIMITS.connectGraceMs };
    expect(requests(selectPieces(later, seededRng(3)))).toHaveLength(40);
  });
});

describe('origin handoff after a join', () => {
  const cand = (id: string, seenAt: number): OriginCandidate => ({ id, wants: () => true, connected: true, seenAt, lastProgressAt: seenAt });
  const keys = Array.from({ length: 60 }, (_, i) => `embed#${i}`);
  it('a newcomer leaves its newly assigned pieces to an old member not yet connected for handoffMs', () => {
    const pending: OriginCandidate = {
      id: 'old',
      wants: () => true,
      connected: false,
      seenAt: 9_500,
      joinedAt: Number.NEGATIVE_INFINITY,
      lastProgressAt: 9_500,
    };
    const s = base({ wanted: want(keys), pendingMembers: [pending], selfSince: 9_500, now: 10_000, limits: { ...DEFAULT_LIMITS, maxOrigin: 100 } });
    expect(requests(selectPieces(s, seededRng(1)))).toEqual([]);
    expect(requests(selectPieces({ ...s, now: 9_500 + DEFAULT_LIMITS.handoffMs }, seededRng(1))).length).toBeGreaterThan(10);
  });

  it('a newcomer probes the connected previous designee first, and goes to the origin only once it released the piece', () => {
    const old = peer('old', [], undefined, { seenAt: 0, joinedAt: Number.NEGATIVE_INFINITY, lastProgressAt: 0 });
    const s = base({
      wanted: want(keys),
      peers: [old],
      selfSince: 9_500,
      now: 10_000,
      limits: { ...DEFAULT_LIMITS, maxOrigin: 100, minPerPeer: 100, maxPerPeer: 100 },
    });
    const mine = keys.filter((k) => originDesignee(k, 'me', [old], 10_000, DEFAULT_LIMITS) === 'self');
    expect(mine.length).toBeGreaterThan(10);
    const probes = requests(selectPieces(s, seededRng(1)));
    expect(new Set(probes)).toEqual(new Set(mine.map((k) => `${k}@old`))); // never the origin while it may be reading them
    const released = new Map(mine.slice(0, 3).map((k) => [k, new Set(['old'])]));
    const inFlight = mine.slice(3).map((key) => ({ key, source: 'old' }));
    expect(new Set(requests(selectPieces({ ...s, released, inFlight }, seededRng(1))))).toEqual(new Set(mine.slice(0, 3).map((k) => `${k}@origin`)));
    // after handoffMs the join is old news: the newcomer's pieces go straight to the origin
    expect(requests(selectPieces({ ...s, now: 9_500 + DEFAULT_LIMITS.handoffMs }, seededRng(1))).every((r) => r.endsWith('@origin'))).toBe(true);
  });

  it('a newcomer asks every member that was there before it, and waits while one of them is not connected', () => {
    // Who headed a piece before me depends on the order the old members joined in, which I cannot
    // see: any of them may be reading it.
    const a = peer('a', [], undefined, { seenAt: 0, joinedAt: Number.NEGATIVE_INFINITY, lastProgressAt: 0 });
    const b = peer('b', [], undefined, { seenAt: 0, joinedAt: Number.NEGATIVE_INFINITY, lastProgressAt: 0 });
    const s = base({ wanted: want(keys), peers: [a, b], selfSince: 9_500, now: 10_000, limits: { ...DEFAULT_LIMITS, maxOrigin: 100, maxPerPeer: 100 } });
    const key = keys.find((k) => originDesignee(k, 'me', [a, b], 10_000, DEFAULT_LIMITS) === 'self') as string;
    const one = (over: Partial<SchedulerState>): string[] => requests(selectPieces({ ...s, wanted: want([key]), ...over }, seededRng(1)));
    expect(one({})).toHaveLength(1); // a probe, to a or b
    expect(one({ released: new Map([[key, new Set(['a'])]]) })).toEqual([`${key}@b`]);
    expect(one({ released: new Map([[key, new Set(['a', 'b'])]]) })).toEqual([`${key}@origin`]);
    const pending: OriginCandidate = { id: 'c', wants: () => true, connected: false, seenAt: 9_000, joinedAt: Number.NEGATIVE_INFINITY, lastProgressAt: 9_000 };
    const withC = (k: string): boolean => originDesignee(k, 'me', [a, b, pending], 10_000, DEFAULT_LIMITS) === 'self';
    const key2 = keys.find(withC) as string;
    expect(
      requests(selectPieces({ ...s, wanted: want([key2]), pendingMembers: [pending], released: new Map([[key2, new Set(['a', 'b'])]]) }, seededRng(1))),
    ).toEqual([]);
  });

  it('a join moves only the pieces the newcomer now heads (rendezvous), none between old members', () => {
    const cand = (id: string): OriginCandidate => ({ id, wants: () => true, connected: true, seenAt: 0, lastProgressAt: 0 });
    const olds = ['m1', 'm2', 'm3', 'm4'];
    const all = Array.from({ length: 400 }, (_, i) => `layer-${i % 9}#${i}`);
    const head = (key: string, ids: string[]): string => {
      const d = originDesignee(key, ids[0] as string, ids.slice(1).map(cand), 0, DEFAULT_LIMITS);
      return d === 'self' ? (ids[0] as string) : d.id;
    };
    let moved = 0;
    for (const key of all) {
      const before = head(key, olds);
      const after = head(key, [...olds, 'new']);
      if (after !== before) {
        expect(after).toBe('new');
        moved++;
      }
    }
    expect(moved).toBeGreaterThan(40); // about 1/5
    expect(moved).toBeLessThan(120);
  });
  it('an old member keeps fetching what stayed its own, and waits on what moved to it from another old member', () => {
    const members = [cand('m1', 0), cand('m2', 0), cand('new', 9_900)];
    const now = 10_000;
    const mine = keys.filter((k) => originDesignee(k, 'me', members, now, DEFAULT_LIMITS) === 'self');
    const mineBefore = new Set(keys.filter((k) => originDesignee(k, 'me', members.slice(0, 2), now, DEFAULT_LIMITS) === 'self'));
    const s = base({
      wanted: want(keys),
      peers: members.map((m) => peer(m.id, [], undefined, m)),
      selfSince: 0,
      now,
      limits: { ...DEFAULT_LIMITS, maxOrigin: 100 },
    });
    const got = requests(selectPieces(s, seededRng(1))).map((r) => r.split('@')[0]);
    expect(new Set(got)).toEqual(new Set(mine.filter((k) => mineBefore.has(k))));
  });
});

describe('origin assignment', () => {
  it('every peer computes the same designee from its own point of view', () => {
    const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
    const cand = (id: string): OriginCandidate => ({ id, wants: () => true, connected: true, seenAt: 0, lastProgressAt: 0 });
    const limits = DEFAULT_LIMITS;
    const perPeer = new Map<string, number>();
    for (let i = 0; i < 600; i++) {
      const key = `layer-${i % 30}#${i}`;
      const views = ids.map((self) => {
        const d = originDesignee(key, self, ids.filter((x) => x !== self).map(cand), 0, limits);
        return d === 'self' ? self : d.id;
      });
      expect(new Set(views).size).toBe(1);
      perPeer.set(views[0] ?? '', (perPeer.get(views[0] ?? '') ?? 0) + 1);
    }
    for (const id of ids) expect(perPeer.get(id)).toBeGreaterThan(50); // spread, not piled on one peer
  });
});

describe('origin fallback cascade', () => {
  const ids = ['a', 'b', 'c', 'd'];
  const cand = (id: string): OriginCandidate => ({ id, wants: () => true, connected: true, seenAt: 0, lastProgressAt: 0 });
  const fetching = (key: string, now: number, limits = DEFAULT_LIMITS): string[] =>
    ids.filter((self) => shouldFetchFromOrigin(key, self, ids.filter((x) => x !== self).map(cand), 0, now, limits));

  it('a stalled designee is replaced by one peer at a time, one stallMs apart', () => {
    for (const key of ['embed#0', 'layer-003#7', 'head#2']) {
      const designee = originDesignee(key, 'a', ids.slice(1).map(cand), 0, DEFAULT_LIMITS);
      const d = designee === 'self' ? 'a' : designee.id;
      expect(fetching(key, 0)).toEqual([d]);
      expect(fetching(key, DEFAULT_LIMITS.stallMs)).toHaveLength(2);
      expect(fetching(key, 2 * DEFAULT_LIMITS.stallMs)).toHaveLength(3);
      expect(fetching(key, 3 * DEFAULT_LIMITS.stallMs)).toHaveLength(4);
    }
  });

  it('further down the line, a peer waits while one ahead of it (not the stalled designee) still talks', () => {
    const key = 'layer-002#5';
    const line = ids.slice().sort((x, y) => {
      const rank = (self: string): number => (originDesignee(key, self, ids.filter((i) => i !== self).map(cand), 0, DEFAULT_LIMITS) === 'self' ? 0 : 1);
      return rank(x) - rank(y);
    });
    const designee = line[0] as string;
    // who would fetch at 3 × stallMs if the next in line kept sending HAVEs (alive)
    const now = 3 * DEFAULT_LIMITS.stallMs;
    const view = (self: string): OriginCandidate[] =>
      ids.filter((x) => x !== self).map((id) => ({ ...cand(id), lastProgressAt: id === designee ? 0 : now - 1 }));
    const fetchers = ids.filter((self) => shouldFetchFromOrigin(key, self, view(self), 0, now, DEFAULT_LIMITS));
    expect(fetchers).toHaveLength(2); // the designee itself and the first in line after it; the rest wait on that one
    expect(fetchers).toContain(designee);
  });

  it('the long-wait fallback cascades too, so views that disagree cost one extra read, not one per peer', () => {
    // Nobody counts itself designee (each sees a member the others do not): only the fallback helps.
    const limits = { ...DEFAULT_LIMITS, stallMs: 1_000_000 };
    const key = 'layer-001#3';
    const ghost = (self: string): OriginCandidate[] => [
      ...ids.filter((x) => x !== self).map(cand),
      ...['zz1', 'zz2', 'zz3', 'zz4', 'zz5', 'zz6', 'zz7', 'zz8'].map((id) => ({ ...cand(id), lastProgressAt: 1e12 })),
    ];
    const at = (now: number): string[] =>
      ids.filter((self) => originDesignee(key, self, ghost(self), now, limits) !== 'self' && shouldFetchFromOrigin(key, self, ghost(self), 0, now, limits));
    const waiting = ids.filter((self) => originDesignee(key, self, ghost(self), 0, limits) !== 'self');
    expect(waiting.length).toBeGreaterThan(1);
    expect(at(DEFAULT_LIMITS.fallbackMs - 1)).toEqual([]);
    expect(at(DEFAULT_LIMITS.fallbackMs).length).toBeLessThanOrEqual(1); // at most the one next in line
    expect(at(DEFAULT_LIMITS.fallbackMs + 12 * 1_000_000)).toEqual(waiting); // eventually anyone still waiting
  });
});

describe('selectPieces properties', () => {
  const arb = fc.record({
    pieces: fc.integer({ min: 0, max: 30 }),
    peers: fc.array(fc.record({ has: fc.array(fc.boolean(), { minLength: 30, maxLength: 30 }), rate: fc.option(fc.integer({ min: 1, max: 200 })) }), {
      maxLength: 6,
    }),
    inflight: fc.array(fc.tuple(fc.integer({ min: 0, max: 29 }), fc.integer({ min: -1, max: 5 })), { maxLength: 10 }),
    seed: fc.integer(),
  });
  it('never asks a peer for a piece it lacks, never exceeds depth or origin limit, never requests what it does not want', () => {
    fc.assert(
      fc.property(arb, ({ pieces, peers, inflight, seed }) => {
        const keys = Array.from({ length: pieces }, (_, i) => `u#${i}`);
        const views = peers.map((p, i) =>
          peer(
            `p${i}`,
            keys.filter((_, j) => p.has[j]),
            p.rate === null ? undefined : p.rate * MB,
          ),
        );
        const inFlight = inflight
          .filter(([k, s]) => k < pieces && (s < 0 || s < views.length))
          .map(([k, s]) => ({ key: `u#${k}`, source: s < 0 ? ORIGIN : `p${s}` }))
          .filter((f) => f.source === ORIGIN || views.find((v) => v.id === f.source)?.has.has(f.key));
        const state = base({ wanted: want(keys), peers: views, inFlight });
        const actions = selectPieces(state, seededRng(seed));
        const load = new Map<string, number>();
        for (const f of inFlight) load.set(f.source, (load.get(f.source) ?? 0) + 1);
        for (const a of actions) {
          expect(a.kind).toBe('request');
          expect(keys).toContain(a.key);
          if (a.source !== ORIGIN) expect(views.find((v) => v.id === a.source)?.has.has(a.key)).toBe(true);
          else expect(views.some((v) => v.has.has(a.key))).toBe(false);
          load.set(a.source, (load.get(a.source) ?? 0) + 1);
        }
        const originNew = actions.filter((a) => a.source === ORIGIN).length;
        if (originNew > 0) expect(load.get(ORIGIN)).toBeLessThanOrEqual(DEFAULT_LIMITS.maxOrigin);
        for (const v of views) {
          const added = actions.filter((a) => a.source === v.id).length;
          if (added > 0) expect(load.get(v.id)).toBeLessThanOrEqual(DEFAULT_LIMITS.maxPerPeer);
        }
        // no piece requested twice in one round
        const req = actions.map((a) => `${a.key}@${a.source}`);
        expect(new Set(req).size).toBe(req.length);
      }),
      { numRuns: 300, seed: 42 },
    );
  });

  it('is deterministic for a given rng seed', () => {
    const s = base({ wanted: want(['a', 'b', 'c', 'd']), peers: [peer('p1', ['a', 'b', 'c', 'd']), peer('p2', ['a', 'b', 'c', 'd'])] });
    expect(selectPieces(s, seededRng(5))).toEqual(selectPieces(s, seededRng(5)));
  });

  it('trackWaiting starts the clock for origin-only pieces and keeps it', () => {
    const s = base({ wanted: want(['a', 'b', 'c']), peers: [peer('p1', ['a'])], inFlight: [{ key: 'c', source: ORIGIN }] });
    const w1 = trackWaiting(s);
    expect([...w1]).toEqual([['b', 1000]]);
    expect([...trackWaiting({ ...s, now: 5000, waitingSince: w1 })]).toEqual([['b', 1000]]);
  });
});
