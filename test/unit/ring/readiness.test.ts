import { describe, expect, it } from 'vitest';
import { asPeerId, type PeerId } from '../../../shared/ids.ts';
import { HoldingAttestations, MAX_HELD_LIST, ringReadiness, type ReadinessInput } from '../../../shared/ring/readiness.ts';
import { nextStageOf, requesterLinksOf } from '../../../shared/ring/ring-links-ready.ts';

const [T, U, A, B] = ['trusted-1', 'trusted-2', 'contrib-a', 'contrib-b'].map(asPeerId) as [PeerId, PeerId, PeerId, PeerId];
const trusted = new Set<PeerId>([T, U]);

function input(over: Partial<ReadinessInput> & { att?: HoldingAttestations }): ReadinessInput {
  const att = over.att ?? new HoldingAttestations();
  const challengers = over.challengers ?? [T, U].filter((p) => att.challenges(p));
  return {
    epoch: 5,
    ring: [T, A, B],
    readyEpoch: new Map([
      [T, 5],
      [A, 5],
      [B, 5],
    ]),
    isTrusted: (p) => trusted.has(p),
    challengers,
    proved: (peer, epoch) => att.proved(peer, epoch, (by) => challengers.includes(by)),
    ...over,
  };
}

describe('ringReadiness', () => {
  it('without a challenger in the room, every stage that reported ready counts (claims are all there is)', () => {
    expect(ringReadiness(input({}))).toEqual({ ready: true });
    expect(
      ringReadiness(
        input({
          readyEpoch: new Map([
            [T, 5],
            [A, 4],
            [B, 5],
          ]),
        }),
      ),
    ).toEqual({ ready: false, unready: [A], unproven: [], unlinked: [] });
  });

  it('with a challenger, contributor stages wait for an attestation of this epoch; trusted ones do not', () => {
    const att = new HoldingAttestations();
    att.record(T, true, { planEpoch: 5, proven: [], failed: [] });
    expect(ringReadiness(input({ att }))).toEqual({ ready: false, unready: [], unproven: [A, B], unlinked: [] });
    att.record(T, true, { planEpoch: 5, proven: [A], failed: [B] });
    expect(ringReadiness(input({ att }))).toEqual({ ready: false, unready: [], unproven: [B], unlinked: [] });
    att.record(T, true, { planEpoch: 5, proven: [A, B], failed: [] });
    expect(ringReadiness(input({ att }))).toEqual({ ready: true });
  });

  it('an attestation of another epoch does not count', () => {
    const att = new HoldingAttestations();
    att.record(T, true, { planEpoch: 4, proven: [A, B], failed: [] });
    expect(ringReadiness(input({ att }))).toMatchObject({ ready: false, unproven: [A, B] });
  });

  it('a stage not ready yet is listed as unready, not unproven', () => {
    const att = new HoldingAttestations();
    att.record(T, true, { planEpoch: 5, proven: [], failed: [] });
    expect(
      ringReadiness(
        input({
          att,
          readyEpoch: new Map([
            [T, 5],
            [A, 5],
          ]),
        }),
      ),
    ).toEqual({ ready: false, unready: [B], unproven: [A], unlinked: [] });
  });

  it('only attestations of challengers still in the room count', () => {
    const att = new HoldingAttestations();
    att.record(T, true, { planEpoch: 5, proven: [A, B], failed: [] });
    att.record(U, true, { planEpoch: 5, proven: [], failed: [] });
    // T left: U gates, and U has not attested anyone yet.
    expect(ringReadiness(input({ att, challengers: [U] }))).toMatchObject({ ready: false, unproven: [A, B] });
  });
});

describe('ringReadiness: links', () => {
  it('a ring every stage reported ready is not ready while this requester has no link to its ends', () => {
    const open = new Set<PeerId>([T]);
    const linked = (p: PeerId): boolean => open.has(p);
    expect(ringReadiness(input({ requesterLinks: [T, B], linked }))).toEqual({ ready: false, unready: [], unproven: [], unlinked: [B] });
    open.add(B);
    expect(ringReadiness(input({ requesterLinks: [T, B], linked }))).toEqual({ ready: true });
  });

  it('the ends of a ring and the next stage, as seen from each member', () => {
    expect([T, A, B].map((p) => nextStageOf([T, A, B], p))).toEqual([A, B, T]);
    expect(nextStageOf([T], T)).toBeNull();
    expect(nextStageOf([T, A], U)).toBeNull();
    expect(requesterLinksOf([T, A, B], A)).toEqual([T, B]);
    expect(requesterLinksOf([T, A, B], T)).toEqual([B]);
    expect(requesterLinksOf([T], T)).toEqual([]);
    expect(requesterLinksOf([T], U)).toEqual([T]);
  });
});

describe('HoldingAttestations', () => {
  it('ignores reports from contributors and malformed ones', () => {
    const att = new HoldingAttestations();
    expect(att.record(A, false, { planEpoch: 5, proven: [A, B], failed: [] })).toBe(false);
    expect(att.challenges(A)).toBe(false);
    expect(att.record(T, true, { planEpoch: -1, proven: [], failed: [] })).toBe(false);
    expect(att.record(T, true, { planEpoch: 5, proven: Array.from({ length: MAX_HELD_LIST + 1 }, (_, i) => `p${i}`), failed: [] })).toBe(false);
    expect(att.record(T, true, 'ready')).toBe(false);
    expect(att.challenges(T)).toBe(false);
  });

  it('a report replaces its sender’s previous one; other challengers’ attestations stay', () => {
    const att = new HoldingAttestations();
    const all = (): boolean => true;
    att.record(T, true, { planEpoch: 5, proven: [A], failed: [] });
    att.record(U, true, { planEpoch: 5, proven: [A], failed: [] });
    att.record(T, true, { planEpoch: 5, proven: [], failed: [A] });
    expect(att.proved(A, 5, all)).toBe(true);
    expect(att.proved(A, 5, (by) => by === T)).toBe(false);
    att.record(U, true, { planEpoch: 5, proven: [], failed: [] });
    expect(att.proved(A, 5, all)).toBe(false);
  });

  it('keeps the four newest epochs only', () => {
    const att = new HoldingAttestations();
    for (let e = 1; e <= 6; e++) att.record(T, true, { planEpoch: e, proven: [A], failed: [] });
    expect([1, 2, 3, 4, 5, 6].map((e) => att.proved(A, e, () => true))).toEqual([false, false, true, true, true, true]);
  });
});
