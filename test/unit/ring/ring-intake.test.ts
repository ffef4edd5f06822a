// Where a ring frame goes and what a member's refused frames cost it (shared/ring/ring-intake.ts),
// and the plan half of RingPeer's status (ring-peer-status.ts). Against real peers:
// test/adversary/ring-forgery.test.ts.
import { describe, expect, it } from 'vitest';
import { asPeerId, asSessionId, type PeerId } from '../../../shared/ids.ts';
import type { RingMessage } from '../../../shared/ring/messages.ts';
import { frameRoute, RING_STRIKES, RingIntake } from '../../../shared/ring/ring-intake.ts';
import { planStatus } from '../../../shared/ring/ring-peer-status.ts';
import type { RingPeerEvent } from '../../../shared/ring/ring-peer-types.ts';
import type { RingPlan } from '../../../shared/ring/ring-plan.ts';

const [ME, A, B, X] = ['me', 'a', 'b', 'x'].map(asPeerId) as [PeerId, PeerId, PeerId, PeerId];
const session = asSessionId('s.1');
const token = (tokenId: number): RingMessage => ({ type: 'token', session, epoch: 1, step: 0, tokenId, logprob: 0 });

describe('frameRoute', () => {
  it('sends stage frames to the stage, results to the requester, and lets only stages send results', () => {
    const activation: RingMessage = { type: 'activation', session, epoch: 1, step: 0, seqLen: 1, hidden: new Float32Array(4) };
    expect(frameRoute(activation)).toEqual({ fromStage: true, toStage: true, toRequester: false });
    expect(frameRoute(token(1))).toEqual({ fromStage: true, toStage: true, toRequester: true });
    expect(frameRoute({ type: 'failure', session, epoch: 1, message: 'x' })).toEqual({ fromStage: true, toStage: false, toRequester: true });
    expect(frameRoute({ type: 'end', session, reason: 'done' })).toEqual({ fromStage: false, toStage: true, toRequester: false });
    expect(frameRoute({ type: 'end', session, reason: 'cancelled' })).toEqual({ fromStage: false, toStage: true, toRequester: false });
    expect(frameRoute({ type: 'end', session, reason: 'busy' })).toEqual({ fromStage: true, toStage: false, toRequester: true });
  });
});

describe('RingIntake', () => {
  function intake(): { intake: RingIntake; events: RingPeerEvent[]; bans: PeerId[]; toRequester: PeerId[] } {
    const events: RingPeerEvent[] = [];
    const bans: PeerId[] = [];
    const toRequester: PeerId[] = [];
    const it = new RingIntake({
      self: () => ME,
      limits: { hiddenSize: 4, vocabSize: 10, contextTokens: 32, maxStopIds: 4 },
      audits: { onAudit: () => 'refused', onToken: () => undefined },
      requester: {
        onMessage: (_m, from) => {
          if (from !== undefined) toRequester.push(from);
          return null;
        },
      },
      runner: () => null,
      isBanned: (peer) => bans.includes(peer),
      ban: (peer) => bans.push(peer),
      emit: (e) => events.push(e),
    });
    return { intake: it, events, bans, toRequester };
  }

  it('takes stage frames only from stages of the current or the previous plan', () => {
    const t = intake();
    t.intake.onPlanStages([A]);
    expect(t.intake.deliver(token(1), A)).toBe(true);
    expect(t.intake.deliver(token(1), B)).toBe(false);
    t.intake.onPlanStages([B]);
    expect(t.intake.deliver(token(1), A)).toBe(true); // a late frame of the plan before
    t.intake.onPlanStages([B]);
    expect(t.intake.deliver(token(1), A)).toBe(false);
    expect(t.toRequester).toEqual([A, A]);
    expect(t.intake.droppedCounts()).toEqual({ 'not-a-stage': 2 });
  });

  it(`bans a member at ${RING_STRIKES} refused frames, once, and never strikes this peer itself`, () => {
    const t = intake();
    t.intake.onPlanStages([X, ME]);
    for (let i = 0; i < RING_STRIKES + 3; i++) expect(t.intake.deliver(token(99), X)).toBe(false);
    for (let i = 0; i < RING_STRIKES + 3; i++) t.intake.deliver(token(99), ME);
    expect(t.bans).toEqual([X]);
    expect(t.events.filter((e) => e.event === 'peer-banned')).toEqual([{ event: 'peer-banned', peer: X, strikes: RING_STRIKES }]);
    expect(t.intake.banned()).toEqual([X]);
    expect(t.intake.droppedCounts()).toEqual({ invalid: 2 * (RING_STRIKES + 3) });
  });

  it('counts a tokenless frame for the stage while no stage is loaded', () => {
    const t = intake();
    expect(t.intake.deliver({ type: 'end', session, reason: 'done' }, A)).toBe(false);
    expect(t.intake.droppedCounts()).toEqual({ 'no-stage': 1 });
  });
});

describe('planStatus', () => {
  const planned: RingPlan = {
    kind: 'planned',
    modelId: 'm',
    numLayers: 4,
    ring: [
      { peerId: A, start: 0, end: 2 },
      { peerId: ME, start: 2, end: 4 },
    ],
    rings: [
      [
        { peerId: A, start: 0, end: 2 },
        { peerId: ME, start: 2, end: 4 },
      ],
      [{ peerId: B, start: 0, end: 4 }],
    ],
    seeders: [],
  };
  const base = { self: ME, readyRings: [], serves: () => false, sessions: () => 0 };

  it('reports nothing before a plan', () => {
    expect(planStatus({ ...base, current: null })).toEqual({
      planEpoch: null,
      layers: null,
      loaded: true,
      ring: null,
      readyRing: null,
      readyRings: [],
      missingBytes: null,
    });
  });

  it('reports this peer’s layers and ring, and the ready rings with their sessions', () => {
    const s = planStatus({
      ...base,
      current: { epoch: 3, plan: planned },
      readyRings: [[B]],
      serves: (l) => l.start === 2,
      sessions: (p) => (p === B ? 2 : 0),
    });
    expect(s).toEqual({
      planEpoch: 3,
      layers: { start: 2, end: 4 },
      loaded: true,
      ring: [A, ME],
      readyRing: [B],
      readyRings: [{ ring: [B], sessions: 2 }],
      missingBytes: null,
    });
    expect(planStatus({ ...base, current: { epoch: 3, plan: planned } }).loaded).toBe(false);
  });

  it('reports what an insufficient plan lacks', () => {
    const s = planStatus({ ...base, current: { epoch: 4, plan: { kind: 'insufficient', modelId: 'm', missingBytes: 5, requiredBytes: 9 } } });
    expect(s).toMatchObject({ planEpoch: 4, layers: null, loaded: true, missingBytes: 5 });
  });
});
