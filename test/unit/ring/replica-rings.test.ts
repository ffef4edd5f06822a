import { describe, expect, it } from 'vitest';
import { asSessionId } from '../../../shared/ids.ts';
import { RingBusyError } from '../../../shared/ring/errors.ts';
import { initialRequesterState, type RequesterEffect } from '../../../shared/ring/requester-state.ts';
import { relayAddressOf, relayedFromStats } from '../../../shared/transport/candidate-pair.ts';
import { A, B, C, CONFIG, D, S1, S2, fold, spec, wire } from './harness.ts';

// Requests over replica rings (docs/ring.md, "Replica rings"): each goes to the ring where its
// tokens are expected soonest (round trip + the load there); a ring that loses a stage hands its
// sessions to another at once.
const S3 = asSessionId('s3');
const rings = { type: 'plan-changed', now: 0, epoch: 1, ring: [A, B], rings: [[A, B], [C], [D]] } as const;
const prefillTo = (effects: readonly RequesterEffect[]): string[] => effects.flatMap((e) => (e.type === 'send-prefill' ? [e.to] : []));

describe('replica rings in the requester', () => {
  it('spreads sessions where their tokens come soonest: round trip + sessions already there', () => {
    // Equal costs break by load, then the nearer stage 0: c (1 ms), a (9 ms), d (unmeasured: last).
    const near = initialRequesterState({ ...CONFIG, rttMs: (p) => (({ a: 9, c: 1 }) as Record<string, number>)[p], sessionMs: () => 20 });
    const { effects } = fold([rings, ...[S1, S2, S3].map((session, i) => ({ type: 'submitted', now: 1 + i, session, spec: spec() }) as const)], near);
    expect(effects.slice(1).map(prefillTo)).toEqual([[C], [A], [D]]);
    // A session that adds little next to the round trips: the nearest ring takes the next ones too.
    const cheap = initialRequesterState({ ...CONFIG, rttMs: (p) => (({ a: 9, c: 1 }) as Record<string, number>)[p], sessionMs: () => 3 });
    const more = fold([rings, ...[S1, S2, S3].map((session, i) => ({ type: 'submitted', now: 1 + i, session, spec: spec() }) as const)], cheap);
    expect(more.effects.slice(1).map(prefillTo)).toEqual([[C], [C], [C]]);
  });

  it('fails a session over to another ring at once when a stage of its ring is lost', () => {
    const { effects, state } = fold([
      rings,
      { type: 'submitted', now: 1, session: S1, spec: spec() },
      { type: 'token-received', now: 2, session: wire('s1.1'), epoch: 1, step: 0, tokenId: 11, from: B },
      { type: 'stage-failed', now: 3, peer: B, reason: 'connection closed' },
    ]);
    expect(prefillTo(effects[1]!)).toEqual([A]);
    // Re-submitted to the next ring with prompt + the token so far, without waiting for a re-plan.
    expect(effects[3]).toContainEqual({
      type: 'send-prefill',
      to: C,
      message: expect.objectContaining({ session: wire('s1.2'), step: 1, tokens: [1, 5, 9, 11] }),
    });
    expect(state.lost).toEqual([B]);
    // New sessions avoid the broken ring until the next plan.
    const next = fold(
      [
        { type: 'submitted', now: 4, session: S2, spec: spec() },
        { type: 'submitted', now: 5, session: S3, spec: spec() },
      ],
      state,
    );
    expect(next.effects.map(prefillTo)).toEqual([[D], [C]]);
  });

  it('sends a session a stage refused as busy to another ring, and gives up only when none is left', () => {
    const { effects, state } = fold([
      rings,
      { type: 'submitted', now: 1, session: S1, spec: spec() },
      { type: 'ended', now: 2, session: wire('s1.1'), reason: 'busy', from: B },
    ]);
    expect(prefillTo(effects[1]!)).toEqual([A]);
    expect(effects[2]).toContainEqual({ type: 'send-end', to: [A, B], session: wire('s1.1') });
    expect(effects[2]).toContainEqual(expect.objectContaining({ type: 'send-prefill', to: C, message: expect.objectContaining({ session: wire('s1.2') }) }));
    expect(state.requests.get(S1)).toMatchObject({ phase: 'running', failures: 1, stages: [C] });
    // A busy ring is no lost ring: new sessions may still go there.
    expect(state.lost).toEqual([]);
    // Busy again on the only ring: RingBusyError, not a wait.
    const alone = fold([
      { type: 'plan-changed', now: 0, epoch: 1, ring: [C], rings: [[C]] },
      { type: 'submitted', now: 1, session: S1, spec: spec() },
      { type: 'ended', now: 2, session: wire('s1.1'), reason: 'busy', from: C },
    ]);
    const failed = alone.effects[2]?.find((e) => e.type === 'failed');
    expect(failed?.type === 'failed' ? failed.error : null).toBeInstanceOf(RingBusyError);
  });

  it('takes more rings of the same epoch as they become ready; a shorter list is no news', () => {
    const { effects } = fold([
      { type: 'plan-changed', now: 0, epoch: 2, ring: [], rings: [] },
      { type: 'submitted', now: 1, session: S1, spec: spec() },
      { type: 'plan-changed', now: 2, epoch: 2, ring: [C], rings: [[C]] },
      { type: 'submitted', now: 3, session: S2, spec: spec() },
      { type: 'plan-changed', now: 4, epoch: 2, ring: [C], rings: [[C], [D]] },
      { type: 'submitted', now: 5, session: S3, spec: spec() },
      { type: 'plan-changed', now: 6, epoch: 2, ring: [C], rings: [[C]] },
    ]);
    expect(effects.map(prefillTo)).toEqual([[], [], [C], [C], [], [D], []]);
    expect(effects[6]).toMatchObject([{ type: 'dropped', reason: 'stale-plan' }]);
  });
});

describe('relayedFromStats', () => {
  const stats = (local: string, remote: string): Map<string, unknown> =>
    new Map<string, unknown>([
      ['T', { id: 'T', type: 'transport', selectedCandidatePairId: 'P' }],
      ['P', { id: 'P', type: 'candidate-pair', localCandidateId: 'L', remoteCandidateId: 'R' }],
      ['L', { id: 'L', type: 'local-candidate', candidateType: local }],
      ['R', { id: 'R', type: 'remote-candidate', candidateType: remote }],
    ]);
  it('reads the selected pair: relayed when either candidate is a relay, unknown with no pair', () => {
    expect(relayedFromStats(stats('host', 'srflx'))).toBe(false);
    expect(relayedFromStats(stats('relay', 'host'))).toBe(true);
    expect(relayedFromStats(stats('host', 'relay'))).toBe(true);
    expect(relayedFromStats(new Map())).toBeUndefined();
  });

  it('a remote learned from checks (prflx) at the address of a relay candidate the remote signalled is that relay', () => {
    const prflx = new Map<string, unknown>([
      ['T', { id: 'T', type: 'transport', selectedCandidatePairId: 'P' }],
      ['P', { id: 'P', type: 'candidate-pair', localCandidateId: 'L', remoteCandidateId: 'R' }],
      ['L', { id: 'L', type: 'local-candidate', candidateType: 'host', ip: '127.0.0.1', port: 50000 }],
      ['R', { id: 'R', type: 'remote-candidate', candidateType: 'prflx', ip: '127.0.0.2', port: 49152 }],
    ]);
    const relay = relayAddressOf('candidate:3 1 udp 41885695 127.0.0.2 49152 typ relay raddr 0.0.0.0 rport 0 generation 0');
    expect(relay).toBe('127.0.0.2:49152');
    expect(relayAddressOf('a=candidate:1 1 UDP 2122317823 127.0.0.1 40000 typ host')).toBeUndefined();
    expect(relayAddressOf('a=candidate:2 1 UDP 8331263 127.0.0.3 3478 typ relay raddr 127.0.0.1 rport 40000')).toBe('127.0.0.3:3478');
    expect(relayAddressOf('typ relay')).toBeUndefined();
    expect(relayedFromStats(prflx, new Set([relay!]))).toBe(true);
    expect(relayedFromStats(prflx, new Set(['127.0.0.2:49153']))).toBe(false);
    expect(relayedFromStats(prflx)).toBe(false);
  });
});
