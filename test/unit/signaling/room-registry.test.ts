import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { asPeerId, asRoomId } from '../../../shared/ids.ts';
import type { ServerMessage } from '../../../shared/signaling/protocol.ts';
import type { PlanHook } from '../../../signaling/options.ts';
import { RoomRegistry, type RoomMember } from '../../../signaling/room-registry.ts';

const caps = { kind: 'node', engine: 'cpu', memoryBytes: 1, modelsHeld: [], modelsWanted: [] } as const;
const room = asRoomId('r');

function member(id: string): RoomMember & { inbox: ServerMessage[]; kicked: number[] } {
  const inbox: ServerMessage[] = [];
  const kicked: number[] = [];
  return {
    peerId: asPeerId(id),
    capabilities: { ...caps, modelsHeld: [], modelsWanted: [] },
    reports: new Map(),
    joinedAt: 0,
    inbox,
    kicked,
    send: (text) => inbox.push(JSON.parse(text) as ServerMessage),
    kick: (code) => kicked.push(code),
  };
}

function registry(overrides: { plan?: PlanHook; fullMembershipLimit?: number; maxPeersPerRoom?: number } = {}): RoomRegistry {
  return new RoomRegistry({
    maxRooms: 10,
    maxPeersPerRoom: overrides.maxPeersPerRoom ?? 100,
    fullMembershipLimit: overrides.fullMembershipLimit ?? 100,
    welcomeSampleSize: 3,
    announceDelayMs: 20,
    random: () => 0.5,
    log: pino({ level: 'silent' }),
    ...(overrides.plan ? { plan: overrides.plan } : {}),
  });
}

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

describe('RoomRegistry', () => {
  it('bumps the epoch per change and announces a batch once per window', () => {
    const epochs: number[] = [];
    const reg = registry({ plan: (_r, members, epoch) => (epochs.push(epoch), members.map((m) => m.peerId)) });
    const a = member('a');
    const b = member('b');
    const c = member('c');
    expect(reg.join(room, a)).toMatchObject({ ok: true, epoch: 1, memberCount: 1, complete: true });
    expect(reg.join(room, b)).toMatchObject({ ok: true, epoch: 2 });
    vi.advanceTimersByTime(20);
    expect(a.inbox).toEqual([
      {
        type: 'peer-joined',
        epoch: 2,
        peers: [
          { peerId: 'a', capabilities: caps },
          { peerId: 'b', capabilities: caps },
        ],
        memberCount: 2,
      },
      { type: 'plan', epoch: 2, plan: ['a', 'b'] },
    ]);
    a.inbox.length = 0;
    // Join then leave inside one window: nobody hears of c; b's leave is one peer-left.
    reg.join(room, c);
    reg.leave(room, c.peerId, c);
    reg.leave(room, b.peerId, b);
    vi.advanceTimersByTime(20);
    expect(a.inbox).toEqual([
      { type: 'peer-left', epoch: 5, peerIds: ['b'], memberCount: 1 },
      { type: 'plan', epoch: 5, plan: ['a'] },
    ]);
    expect(epochs).toEqual([2, 5]);
  });

  it('ignores the late leave of a replaced member', () => {
    const reg = registry();
    const old = member('a');
    const fresh = member('a');
    reg.join(room, old);
    reg.join(room, member('z'));
    reg.join(room, fresh); // same id, new connection
    reg.leave(room, old.peerId, old);
    expect(reg.member(room, asPeerId('a'))).toBe(fresh);
    expect(reg.peerCount).toBe(2);
  });

  it('survives a throwing planner', () => {
    const reg = registry({
      plan: () => {
        throw new Error('planner bug');
      },
    });
    const a = member('a');
    reg.join(room, a);
    vi.advanceTimersByTime(20);
    expect(a.inbox.map((m) => m.type)).toEqual(['peer-joined']);
  });

  it('stops per-peer announcements above the full-membership limit and samples welcome', () => {
    const reg = registry({ fullMembershipLimit: 2 });
    const members = ['a', 'b', 'c', 'd', 'e'].map(member);
    const results = members.map((m) => reg.join(room, m));
    vi.advanceTimersByTime(20);
    expect(members[0]?.inbox).toEqual([]);
    const last = results[4];
    expect(last).toMatchObject({ ok: true, memberCount: 5, complete: false });
    if (last?.ok) {
      const ids = last.membersJson.map((j) => (JSON.parse(j) as { peerId: string }).peerId);
      expect(ids).toHaveLength(3);
      expect(new Set(ids).size).toBe(3);
      expect(ids).toContain('e');
    }
  });

  it('refuses a full room and forgets an empty one', () => {
    const reg = registry({ maxPeersPerRoom: 1 });
    const a = member('a');
    reg.join(room, a);
    expect(reg.join(room, member('b'))).toMatchObject({ ok: false, code: 'room-full' });
    reg.leave(room, a.peerId, a);
    expect(reg.roomCount).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});
