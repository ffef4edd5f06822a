/**
 * Rooms, their members and membership epochs. No sockets here: a member is anything with
 * `send(text)`, so the registry is exercised directly by the server and by tests.
 *
 * Membership changes bump the room's epoch at once, but are announced in batches: every
 * `announceDelayMs` (longer for big rooms) one `peer-left` + one `peer-joined` (+ one `plan`) go
 * to the whole room. Rooms
 * above `fullMembershipLimit` get no per-peer announcements at all and a sampled member list in
 * `welcome` — otherwise n joins would cost O(n²) frames (10 000 peers: 10⁸ member records).
 */
import type { Logger } from 'pino';
import type { PeerId, RoomId } from '../shared/ids.ts';
import { encodeMessage } from '../shared/signaling/message-codec.ts';
import type { PeerInfo } from '../shared/signaling/protocol.ts';
import { encodeWithList } from './encode-with-list.ts';
import type { MemberView, PlanHook } from './options.ts';

/** Extra batching per member: a 1 000-peer room announces at most every 100 ms. */
const ANNOUNCE_MS_PER_MEMBER = 0.1;

export interface RoomMember extends MemberView {
  readonly reports: Map<string, { readonly epoch: number; readonly data: unknown }>;
  /** The client address its connection comes from (normalized); announced only for members that make direct links. */
  readonly address?: string;
  /** The join token it presented, if any (server-side only: what an eviction bans). */
  readonly token?: string;
  /** Sends one text frame to this member (dropped if its socket is gone). */
  send(text: string): void;
  /** Closes this member's connection (its id was resumed elsewhere). */
  kick(code: number, reason: string): void;
}

export type JoinResult =
  | {
      readonly ok: true;
      readonly epoch: number;
      /** The welcome's member list, each record already JSON (see encode-with-list.ts). */
      readonly membersJson: readonly string[];
      readonly memberCount: number;
      readonly complete: boolean;
    }
  | { readonly ok: false; readonly code: 'room-full' | 'too-many-rooms'; readonly message: string };

export interface RoomRegistryOptions {
  readonly maxRooms: number;
  readonly maxPeersPerRoom: number;
  readonly fullMembershipLimit: number;
  readonly welcomeSampleSize: number;
  readonly announceDelayMs: number;
  readonly plan?: PlanHook;
  readonly replanOnReports?: ReadonlySet<string>;
  readonly random: () => number;
  readonly log: Logger;
}

interface Room {
  readonly id: RoomId;
  epoch: number;
  readonly members: Map<PeerId, RoomMember>;
  /** Each member's PeerInfo as JSON, serialized once at join. */
  readonly infoJson: Map<PeerId, string>;
  /** Ids in an array for O(1) random sampling (swap-remove on leave). */
  readonly ids: PeerId[];
  readonly slot: Map<PeerId, number>;
  /** Membership as last announced, and ids changed since. */
  readonly announced: Set<PeerId>;
  readonly dirty: Set<PeerId>;
  timer: NodeJS.Timeout | undefined;
}

export class RoomRegistry {
  private readonly rooms = new Map<RoomId, Room>();

  constructor(private readonly options: RoomRegistryOptions) {}

  get roomCount(): number {
    return this.rooms.size;
  }

  get peerCount(): number {
    let n = 0;
    for (const room of this.rooms.values()) n += room.members.size;
    return n;
  }

  member(roomId: RoomId, peerId: PeerId): RoomMember | undefined {
    return this.rooms.get(roomId)?.members.get(peerId);
  }

  join(roomId: RoomId, member: RoomMember): JoinResult {
    let room = this.rooms.get(roomId);
    if (!room) {
      if (this.rooms.size >= this.options.maxRooms) {
        return { ok: false, code: 'too-many-rooms', message: `server holds its maximum of ${this.options.maxRooms} rooms` };
      }
      room = {
        id: roomId,
        epoch: 0,
        members: new Map(),
        infoJson: new Map(),
        ids: [],
        slot: new Map(),
        announced: new Set(),
        dirty: new Set(),
        timer: undefined,
      };
      this.rooms.set(roomId, room);
    }
    if (room.members.size >= this.options.maxPeersPerRoom && !room.members.has(member.peerId)) {
      return { ok: false, code: 'room-full', message: `room ${roomId} holds its maximum of ${this.options.maxPeersPerRoom} peers` };
    }
    // A resumed id takes over its old entry (and its sampling slot) instead of being added twice.
    if (!room.members.has(member.peerId)) {
      room.slot.set(member.peerId, room.ids.length);
      room.ids.push(member.peerId);
    }
    room.members.set(member.peerId, member);
    // The address goes only to peers that will dial it anyway (direct links: the one host their
    // answers may name); a page's address stays with the server.
    const address = member.capabilities.directLinks === true ? member.address : undefined;
    const info: PeerInfo = {
      peerId: member.peerId,
      capabilities: member.capabilities,
      ...(member.role !== undefined ? { role: member.role } : {}),
      ...(address !== undefined ? { address } : {}),
    };
    room.infoJson.set(member.peerId, JSON.stringify(info));
    this.changed(room, member.peerId);
    const complete = room.members.size <= this.options.fullMembershipLimit;
    const membersJson = complete ? [...room.infoJson.values()] : this.sample(room, member);
    return { ok: true, epoch: room.epoch, membersJson, memberCount: room.members.size, complete };
  }

  /** Removes `peerId` if it is still `member` (a replaced connection's late close is ignored). */
  leave(roomId: RoomId, peerId: PeerId, member: RoomMember): void {
    const room = this.rooms.get(roomId);
    if (!room || room.members.get(peerId) !== member) return;
    room.members.delete(peerId);
    room.infoJson.delete(peerId);
    const at = room.slot.get(peerId) ?? -1;
    const last = room.ids.pop();
    if (last !== undefined && last !== peerId && at >= 0) {
      room.ids[at] = last;
      room.slot.set(last, at);
    }
    room.slot.delete(peerId);
    if (room.members.size === 0) {
      // Nobody left to tell: drop the room and its pending announcement.
      clearTimeout(room.timer);
      this.rooms.delete(roomId);
      return;
    }
    this.changed(room, peerId);
  }

  /** Relays a signal to `to` in the same room; false when `to` is not a member there. */
  relay(roomId: RoomId, from: PeerId, to: PeerId, data: unknown): boolean {
    const target = this.rooms.get(roomId)?.members.get(to);
    if (!target) return false;
    target.send(encodeMessage({ type: 'signal', from, data }));
    return true;
  }

  /** Records a report and relays it to the room (small rooms only, like announcements). */
  report(roomId: RoomId, from: RoomMember, kind: string, epoch: number, data: unknown): void {
    const room = this.rooms.get(roomId);
    if (!room) return;
    const before = from.reports.get(kind);
    from.reports.set(kind, { epoch, data });
    // What the planner reads changed: plan again (as a membership change would, epoch bumped).
    if (this.options.replanOnReports?.has(kind) && (before === undefined || JSON.stringify(before.data) !== JSON.stringify(data))) this.replan(room);
    if (room.members.size > this.options.fullMembershipLimit) return;
    this.broadcast(room, encodeMessage({ type: 'report', from: from.peerId, epoch, kind, ...(data !== undefined ? { data } : {}) }));
  }

  /** Clears every pending announcement timer (server shutdown). */
  close(): void {
    for (const room of this.rooms.values()) clearTimeout(room.timer);
    this.rooms.clear();
  }

  private changed(room: Room, peerId: PeerId): void {
    room.dirty.add(peerId);
    this.replan(room);
  }

  /** Bumps the epoch and schedules the batched announcement + plan run. */
  private replan(room: Room): void {
    room.epoch += 1;
    // The window grows with the room so its broadcast rate (members × flushes/s) stays bounded.
    const window = Math.max(this.options.announceDelayMs, room.members.size * ANNOUNCE_MS_PER_MEMBER);
    room.timer ??= setTimeout(() => this.flush(room), window);
  }

  private flush(room: Room): void {
    room.timer = undefined;
    if (this.rooms.get(room.id) !== room) return;
    const joined: string[] = [];
    const left: PeerId[] = [];
    for (const id of room.dirty) {
      const info = room.infoJson.get(id);
      if (info !== undefined) {
        joined.push(info);
        room.announced.add(id);
      } else if (room.announced.delete(id)) {
        left.push(id);
      }
    }
    room.dirty.clear();
    const memberCount = room.members.size;
    if (memberCount <= this.options.fullMembershipLimit) {
      if (left.length > 0) this.broadcast(room, encodeMessage({ type: 'peer-left', epoch: room.epoch, peerIds: left, memberCount }));
      if (joined.length > 0) this.broadcast(room, encodeWithList({ type: 'peer-joined', epoch: room.epoch, memberCount }, 'peers', joined));
    }
    this.runPlan(room);
  }

  private runPlan(room: Room): void {
    const hook = this.options.plan;
    if (!hook) return;
    let plan: unknown;
    try {
      // Plain views: the planner gets data, not the members' send/kick handles.
      const views: MemberView[] = [...room.members.values()].map(({ peerId, capabilities, role, reports, joinedAt }) => ({
        peerId,
        capabilities,
        ...(role !== undefined ? { role } : {}),
        reports,
        joinedAt,
      }));
      plan = hook(room.id, views, room.epoch);
    } catch (err) {
      // The planner is someone else's code: a throw must cost this epoch's plan, not the server.
      this.options.log.error({ err, room: room.id, epoch: room.epoch }, 'plan hook failed');
      return;
    }
    if (plan !== undefined) this.broadcast(room, encodeMessage({ type: 'plan', epoch: room.epoch, plan }));
  }

  private broadcast(room: Room, text: string): void {
    for (const member of room.members.values()) member.send(text);
  }

  /** The joiner plus up to welcomeSampleSize − 1 distinct random others (Floyd's algorithm). */
  private sample(room: Room, self: RoomMember): string[] {
    const n = room.ids.length;
    const k = Math.min(n, this.options.welcomeSampleSize);
    const picked = new Set<number>([room.slot.get(self.peerId) ?? 0]);
    for (let j = n - k; j < n && picked.size < k; j++) {
      const t = Math.floor(this.options.random() * (j + 1));
      picked.add(picked.has(t) ? j : t);
    }
    const out: string[] = [];
    for (const i of picked) {
      const info = room.infoJson.get(room.ids[i] as PeerId);
      if (info !== undefined) out.push(info);
    }
    return out;
  }
}
