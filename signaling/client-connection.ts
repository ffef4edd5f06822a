/**
 * One WebSocket connection on the server: validates every frame, enforces the rate limit and the
 * misbehaviour allowance, and turns frames into room operations. The peer's id, room and the
 * `from` of relayed signals come from here, never from the client.
 */
import type { WebSocket } from 'ws';
import { asPeerId, type PeerId, type RoomId } from '../shared/ids.ts';
import { CLOSE_CODES } from '../shared/signaling/close-codes.ts';
import { encodeMessage, parseClientMessage } from '../shared/signaling/message-codec.ts';
import type { SignalingProtocolError } from '../shared/signaling/errors.ts';
import { MODEL_REPORT } from '../shared/ring/ring-plan.ts';
import {
  ERROR_CODES,
  PROTOCOL_VERSION,
  type ClientMessage,
  type ErrorCode,
  type HelloMessage,
  type ReportMessage,
  type ServerMessage,
  type WelcomeMessage,
} from '../shared/signaling/protocol.ts';
import { encodeWithList } from './encode-with-list.ts';
import { admitHello, type AdmissionContext, type ClientAddress } from './hello-admission.ts';
import { intakeReport } from './report-caps.ts';
import type { RoomMember, RoomRegistry } from './room-registry.ts';
import type { SignalingMetrics } from './metrics.ts';
import { TokenBucket } from './token-bucket.ts';

/** What every connection shares: one per server instance. */
export interface ConnectionContext extends AdmissionContext {
  readonly registry: RoomRegistry;
  readonly metrics: SignalingMetrics;
  readonly now: () => number;
  readonly helloTimeoutMs: number;
  readonly roomModels: ReadonlyMap<string, string> | undefined;
  readonly reportKinds: ReadonlySet<string> | undefined;
}

export type { ClientAddress } from './hello-admission.ts';

/** Strikes refill at one per 5 s, so an occasional bad frame never adds up to a close. */
const STRIKE_REFILL_PER_SECOND = 0.2;
/**
 * Frames over `maxMessageBytes` (only a `model` report carrying its manifest may be one): a few at
 * once, then one per 15 s, so parsing and hashing megabyte frames cannot eat the server's CPU.
 */
const LARGE_FRAME_BURST = 4;
const LARGE_FRAMES_PER_SECOND = 1 / 15;

export class ClientConnection {
  /** Cleared by each sweep, set by any frame or pong: a connection still false at the next sweep is dead. */
  alive = true;
  private joined: { room: RoomId; member: RoomMember } | undefined;
  private closed = false;
  private readonly rate: TokenBucket;
  private readonly strikes: TokenBucket;
  private readonly reportRate: TokenBucket;
  private readonly largeFrames: TokenBucket;
  private warnedRate = false;
  private readonly helloTimer: NodeJS.Timeout;

  constructor(
    private readonly ws: WebSocket,
    private readonly ctx: ConnectionContext,
    private readonly client: ClientAddress,
  ) {
    const now = ctx.now();
    this.rate = new TokenBucket(ctx.limits.messageBurst, ctx.limits.messagesPerSecond, now);
    this.strikes = new TokenBucket(ctx.limits.maxStrikes, STRIKE_REFILL_PER_SECOND, now);
    this.reportRate = new TokenBucket(ctx.limits.reportBurst, ctx.limits.reportsPerSecond, now);
    this.largeFrames = new TokenBucket(LARGE_FRAME_BURST, LARGE_FRAMES_PER_SECOND, now);
    this.helloTimer = setTimeout(() => this.close(CLOSE_CODES.helloTimeout, 'no hello in time'), ctx.helloTimeoutMs);
    ws.on('message', (data, isBinary) => this.frame(data, isBinary));
    ws.on('pong', () => (this.alive = true));
    ws.on('close', () => this.release());
    // ws reports bad frames (oversize, invalid UTF-8, bad opcodes) here, then closes the socket.
    ws.on('error', (err) => ctx.log.debug({ err, peer: this.joined?.member.peerId }, 'socket error'));
  }

  get peerId(): PeerId | undefined {
    return this.joined?.member.peerId;
  }

  /** Closes with a code the client understands; the room forgets the peer at once. */
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.ctx.metrics.closes.inc({ code: String(code) });
    if (code !== CLOSE_CODES.normal && code !== CLOSE_CODES.serviceRestart) this.ctx.log.info({ peer: this.peerId, code, reason }, 'closing connection');
    this.release();
    this.ws.close(code, reason);
  }

  /** Cuts a connection that stopped answering or reading (no close handshake to wait for). */
  evict(reason: string): void {
    if (!this.closed) {
      this.ctx.metrics.evictions.inc();
      this.ctx.log.info({ peer: this.peerId, reason }, 'evicting peer');
      this.release();
    }
    this.ws.terminate();
  }

  private release(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.helloTimer);
    if (this.joined) {
      this.ctx.registry.leave(this.joined.room, this.joined.member.peerId, this.joined.member);
      this.ctx.addressLimits.leaveRoom(this.client.key, this.joined.room);
    }
  }

  private frame(data: unknown, isBinary: boolean): void {
    this.alive = true;
    if (this.closed) return;
    try {
      this.handleFrame(data, isBinary);
    } catch (err) {
      // Last line of defence: a bug triggered by one client closes that client, not the server.
      this.ctx.log.error({ err, peer: this.peerId }, 'frame handler failed');
      this.close(1011, 'internal error');
    }
  }

  private handleFrame(data: unknown, isBinary: boolean): void {
    const now = this.ctx.now();
    if (!this.rate.take(now)) {
      if (!this.warnedRate) this.reply(ERROR_CODES.rateLimited, `over ${this.ctx.limits.messagesPerSecond} frames/s: frame dropped`);
      this.warnedRate = true;
      this.strike(now, CLOSE_CODES.rateLimited, 'rate limit exceeded');
      return;
    }
    this.warnedRate = false;
    if (isBinary) {
      this.reply(ERROR_CODES.binary, 'signaling frames are JSON text');
      this.strike(now, CLOSE_CODES.policyViolation, 'too many invalid frames');
      return;
    }
    // Only a `model` report (its manifest) may be larger than maxMessageBytes (ws cuts at the
    // manifest limit): anything else that large closes with 1009, as ws would have.
    const large = frameBytes(data) > this.ctx.limits.maxMessageBytes;
    if (large && !this.largeFrames.take(now)) return this.close(CLOSE_CODES.messageTooBig, 'too many frames over the size limit');
    const parsed = parseClientMessage(String(data));
    if (large && !(parsed.ok && parsed.value.type === 'report' && parsed.value.kind === MODEL_REPORT)) {
      return this.close(CLOSE_CODES.messageTooBig, `frame over ${this.ctx.limits.maxMessageBytes} bytes`);
    }
    if (!parsed.ok) return this.rejected(parsed.error, now);
    this.ctx.metrics.framesReceived.inc({ type: parsed.value.type });
    this.dispatch(parsed.value, now);
  }

  private rejected(error: SignalingProtocolError, now: number): void {
    this.reply(error.code, error.message, error.field);
    if (error.code === ERROR_CODES.version) return this.close(CLOSE_CODES.unsupportedVersion, 'unsupported protocol version');
    this.strike(now, CLOSE_CODES.policyViolation, 'too many invalid frames');
  }

  private dispatch(message: ClientMessage, now: number): void {
    if (message.type === 'heartbeat') return this.send({ type: 'pong', ...(message.nonce !== undefined ? { nonce: message.nonce } : {}) });
    if (message.type === 'hello') return this.hello(message, now);
    const joined = this.joined;
    if (!joined) {
      this.reply(ERROR_CODES.notJoined, `send hello before ${message.type}`, 'type');
      return this.strike(now, CLOSE_CODES.policyViolation, 'too many invalid frames');
    }
    switch (message.type) {
      case 'signal':
        if (this.ctx.registry.relay(joined.room, joined.member.peerId, asPeerId(message.to), message.data)) {
          this.ctx.metrics.signalsRelayed.inc();
        } else {
          // Not a strike: the target may simply have left a moment ago.
          this.reply(ERROR_CODES.unknownPeer, `no peer ${message.to} in room ${joined.room}`, 'to');
        }
        return;
      case 'report':
        return this.report(joined, message, now);
      case 'evict':
        return this.evictMember(joined, message.peer, message.reason, now);
      case 'leave':
        return this.close(CLOSE_CODES.normal, 'left');
    }
  }

  private hello(message: HelloMessage, now: number): void {
    if (this.joined) {
      this.reply(ERROR_CODES.alreadyJoined, `already joined room ${this.joined.room} as ${this.joined.member.peerId}`, 'type');
      return this.strike(now, CLOSE_CODES.policyViolation, 'too many invalid frames');
    }
    const room = message.room;
    const admission = admitHello(message, this.ctx, this.client, now);
    if (!admission.ok) {
      this.reply(admission.code, admission.message, admission.field);
      return this.close(admission.closeCode, admission.closeReason);
    }
    const { peerId, resumed, claims } = admission;
    // A resumed id still held by another socket (half-open after a network change) moves here.
    this.ctx.registry.member(room, peerId)?.kick(CLOSE_CODES.replaced, 'peer id resumed by another connection');
    const ws = this.ws;
    const maxBuffered = this.ctx.limits.maxBufferedBytes;
    const member: RoomMember = {
      peerId,
      capabilities: claims.capabilities,
      role: claims.role,
      address: this.client.address,
      ...(message.token !== undefined ? { token: message.token } : {}),
      reports: new Map(),
      joinedAt: now,
      send: (text) => {
        if (ws.readyState !== ws.OPEN) return;
        // A reader that stopped reading would make its buffer grow without bound: cut it.
        if (ws.bufferedAmount > maxBuffered) return this.evict('output buffer over limit');
        ws.send(text);
      },
      kick: (code, reason) => this.close(code, reason),
    };
    const result = this.ctx.registry.join(room, member);
    if (!result.ok) {
      this.ctx.addressLimits.leaveRoom(this.client.key, room);
      this.reply(result.code, result.message, 'room');
      return this.close(CLOSE_CODES.tryAgainLater, result.code);
    }
    clearTimeout(this.helloTimer);
    this.joined = { room, member };
    this.ctx.log.debug({ peer: peerId, room, resumed, epoch: result.epoch }, 'peer joined');
    const welcome: Omit<WelcomeMessage, 'members'> = {
      type: 'welcome',
      v: PROTOCOL_VERSION,
      peerId,
      room,
      resumeToken: this.ctx.resumeTokens.mint(room, peerId),
      resumed,
      epoch: result.epoch,
      memberCount: result.memberCount,
      complete: result.complete,
    };
    if (ws.readyState === ws.OPEN) ws.send(encodeWithList(welcome, 'members', result.membersJson));
  }

  /** Stores and relays a report within the per-member caps; a `model` report only once verified. */
  private report(joined: { room: RoomId; member: RoomMember }, message: ReportMessage, now: number): void {
    const { limits, roomModels, reportKinds } = this.ctx;
    const intake = { ...limits, expectedModelId: roomModels?.get(joined.room) ?? joined.room, ...(reportKinds ? { allowedKinds: reportKinds } : {}) };
    const result = intakeReport(message.kind, message.data, joined.member.reports, this.reportRate, now, intake);
    if (!result.ok) {
      this.ctx.log.info({ peer: joined.member.peerId, room: joined.room, kind: message.kind, reason: result.reason }, 'report refused');
      this.reply(result.code, result.reason, result.field);
      return this.strike(now, CLOSE_CODES.policyViolation, 'too many refused reports');
    }
    this.ctx.registry.report(joined.room, joined.member, message.kind, message.epoch, result.data);
  }

  /**
   * A trusted member's verifier caught `peer`: ban its identity (peer id, join token, address) in
   * the room and close it; leaving re-plans the room. Refused from contributors (a strike) and
   * against trusted members or itself.
   */
  private evictMember(joined: { room: RoomId; member: RoomMember }, peer: PeerId, reason: string, now: number): void {
    if (joined.member.role !== 'trusted') {
      this.reply(ERROR_CODES.evictRefused, 'only trusted members may evict', 'type');
      return this.strike(now, CLOSE_CODES.policyViolation, 'too many refused evictions');
    }
    const target = this.ctx.registry.member(joined.room, peer);
    if (target === undefined || target.role === 'trusted' || target === joined.member) {
      this.reply(ERROR_CODES.evictRefused, `${peer} is not a contributor in room ${joined.room}`, 'peer');
      return;
    }
    this.ctx.bans.ban(joined.room, {
      peerId: target.peerId,
      ...(target.token !== undefined ? { token: target.token } : {}),
      ...(target.address !== undefined ? { address: target.address } : {}),
    });
    this.ctx.log.warn({ room: joined.room, peer, by: joined.member.peerId, reason }, 'member evicted');
    target.kick(CLOSE_CODES.evicted, 'evicted: failed verification');
  }

  private strike(now: number, code: number, reason: string): void {
    if (!this.strikes.take(now)) this.close(code, reason);
  }

  private reply(code: ErrorCode, message: string, field?: string): void {
    this.ctx.metrics.errorsSent.inc({ code });
    this.send({ type: 'error', code, message, ...(field !== undefined ? { field } : {}) });
  }

  private send(message: ServerMessage): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(encodeMessage(message));
  }
}

/** Bytes of a frame as `ws` hands it over (Buffer, ArrayBuffer or fragments). */
function frameBytes(data: unknown): number {
  if (Array.isArray(data)) return data.reduce((n: number, b: Buffer) => n + b.byteLength, 0);
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength;
  return typeof data === 'string' ? Buffer.byteLength(data) : 0;
}
