/** The {@link SignalingClient} over an injected WebSocket implementation. */
import type { PeerId } from '../ids.ts';
import { backoffDelay } from './backoff.ts';
import { FATAL_CLOSE_CODES } from './close-codes.ts';
import { systemClock, type Clock } from '../util/clock.ts';
import { encodeMessage, parseServerMessage } from './message-codec.ts';
import { SignalingClosedError, SignalingJsonError, SignalingNotConnectedError, SignalingServerError } from './errors.ts';
import { PROTOCOL_VERSION, type ClientMessage, type PeerInfo, type ServerMessage, type WelcomeMessage } from './protocol.ts';
import type { SignalingClient, SignalingClientOptions, SignalingEvents, SignalingState } from './signaling-client.ts';
import { TypedEmitter } from '../util/typed-emitter.ts';
import { closeGracefully, cut, detach } from './socket-teardown.ts';
import { WS_OPEN, type CloseEventLike, type MessageEventLike, type WebSocketLike } from './web-socket-like.ts';

/** Close code this client uses when it drops a socket it considers dead. */
const CLIENT_GIVE_UP = 4000;

export function createSignalingClient(options: SignalingClientOptions): SignalingClient {
  return new WebSocketSignalingClient(options);
}

class WebSocketSignalingClient implements SignalingClient {
  private readonly events = new TypedEmitter<SignalingEvents>();
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly heartbeatMs: number;
  private readonly heartbeatTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly memberMap = new Map<PeerId, PeerInfo>();
  private currentState: SignalingState = 'idle';
  private socket: WebSocketLike | undefined;
  private id: PeerId | undefined;
  private resumeToken: string | undefined;
  private currentEpoch = 0;
  private attempt = 0;
  private lastSeen = 0;
  private timer: unknown;
  private connecting: Promise<WelcomeMessage> | undefined;
  private settleConnect: { resolve(w: WelcomeMessage): void; reject(e: Error): void } | undefined;

  constructor(private readonly options: SignalingClientOptions) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.heartbeatMs = options.heartbeatIntervalMs ?? 15_000;
    this.heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? this.heartbeatMs * 2.5;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  }

  get state(): SignalingState {
    return this.currentState;
  }
  get peerId(): PeerId | undefined {
    return this.id;
  }
  get epoch(): number {
    return this.currentEpoch;
  }
  get members(): ReadonlyMap<PeerId, PeerInfo> {
    return this.memberMap;
  }

  on<K extends keyof SignalingEvents>(event: K, listener: (payload: SignalingEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  connect(): Promise<WelcomeMessage> {
    if (this.currentState === 'closed') return Promise.reject(new SignalingClosedError('signaling client is closed'));
    if (this.connecting) return this.connecting;
    this.connecting = new Promise<WelcomeMessage>((resolve, reject) => {
      this.settleConnect = { resolve, reject };
    });
    // Callers that fire and forget connect() and later close() must not get an unhandled
    // rejection; those that await it still see the error.
    this.connecting.catch(() => {});
    this.open();
    return this.connecting;
  }

  sendSignal(to: PeerId, data: unknown): void {
    this.sendJoined({ type: 'signal', to, data });
  }

  report(kind: string, data?: unknown): void {
    this.sendJoined({ type: 'report', epoch: this.currentEpoch, kind, data });
  }

  evict(peer: PeerId, reason: string): void {
    this.sendJoined({ type: 'evict', peer, reason: reason.slice(0, 200) });
  }

  async close(): Promise<void> {
    if (this.currentState === 'closed') return;
    this.clearTimer();
    const socket = this.socket;
    this.socket = undefined;
    this.setState('closed');
    this.settleConnect?.reject(new SignalingClosedError('signaling client closed before joining'));
    this.settleConnect = undefined;
    if (socket) await closeGracefully(socket, this.clock);
    this.events.removeAll();
  }

  // ── socket lifecycle ───────────────────────────────────────────────────────────────────────

  private open(): void {
    this.setState(this.id === undefined && this.attempt === 0 ? 'connecting' : 'reconnecting');
    let socket: WebSocketLike;
    try {
      socket = new this.options.WebSocket(this.options.url);
    } catch {
      // A constructor throws on a malformed URL or a refused scheme; treat it like a failed dial.
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => this.send(this.hello());
    socket.onmessage = (event: MessageEventLike) => this.receive(event.data);
    socket.onerror = () => {
      // Always followed by a close event, which is where reconnecting is decided.
    };
    socket.onclose = (event: CloseEventLike) => this.closed(socket, event.code, event.reason);
    this.armTimer(this.connectTimeoutMs, () => this.dropSocket('no welcome in time'));
  }

  private hello(): ClientMessage {
    const resume = this.id !== undefined && this.resumeToken !== undefined ? { peerId: this.id, token: this.resumeToken } : undefined;
    return {
      type: 'hello',
      v: PROTOCOL_VERSION,
      room: this.options.room,
      capabilities: this.options.capabilities,
      ...(this.options.token !== undefined ? { token: this.options.token } : {}),
      ...(resume ? { resume } : {}),
    };
  }

  private closed(socket: WebSocketLike, code: number, reason: string): void {
    if (socket !== this.socket) return; // a socket already dropped or replaced
    this.socket = undefined;
    this.clearTimer();
    if (FATAL_CLOSE_CODES.has(code)) {
      this.setState('closed', code, reason);
      this.settleConnect?.reject(new SignalingClosedError(`signaling server refused the peer: ${code} ${reason}`, code, reason));
      this.settleConnect = undefined;
      return;
    }
    this.scheduleReconnect(code, reason);
  }

  private scheduleReconnect(code?: number, reason?: string): void {
    const delay = backoffDelay(this.attempt, this.random, this.options.backoff);
    this.attempt += 1;
    this.setState('reconnecting', code, reason);
    this.armTimer(delay, () => this.open());
  }

  /** Gives up on the current socket (dead or silent) and reconnects. */
  private dropSocket(reason: string): void {
    const socket = this.socket;
    if (!socket) return;
    this.socket = undefined;
    detach(socket);
    cut(socket, CLIENT_GIVE_UP, reason);
    this.clearTimer();
    this.scheduleReconnect(CLIENT_GIVE_UP, reason);
  }

  // ── frames ─────────────────────────────────────────────────────────────────────────────────

  private receive(data: unknown): void {
    this.lastSeen = this.clock.now();
    if (typeof data !== 'string') {
      this.events.emit('error', new SignalingJsonError('server sent a binary frame'));
      return;
    }
    const parsed = parseServerMessage(data);
    if (!parsed.ok) {
      this.events.emit('error', parsed.error);
      return;
    }
    this.handle(parsed.value);
  }

  private handle(message: ServerMessage): void {
    switch (message.type) {
      case 'welcome':
        return this.welcomed(message);
      case 'peer-joined':
        this.currentEpoch = Math.max(this.currentEpoch, message.epoch);
        for (const peer of message.peers) this.memberMap.set(peer.peerId, peer);
        return this.events.emit('peer-joined', message);
      case 'peer-left':
        this.currentEpoch = Math.max(this.currentEpoch, message.epoch);
        for (const id of message.peerIds) this.memberMap.delete(id);
        return this.events.emit('peer-left', message);
      case 'signal':
        return this.events.emit('signal', { from: message.from, data: message.data });
      case 'plan':
        return this.events.emit('plan', message);
      case 'report':
        return this.events.emit('report', message);
      case 'error':
        return this.events.emit('error', new SignalingServerError(message.code, message.message, message.field));
      case 'pong':
        return; // liveness only: lastSeen is already updated
    }
  }

  private welcomed(message: WelcomeMessage): void {
    this.id = message.peerId;
    this.resumeToken = message.resumeToken;
    this.currentEpoch = message.epoch;
    this.memberMap.clear();
    for (const peer of message.members) this.memberMap.set(peer.peerId, peer);
    this.attempt = 0;
    this.setState('joined');
    this.armHeartbeat();
    this.settleConnect?.resolve(message);
    this.settleConnect = undefined;
    this.events.emit('welcome', message);
  }

  private armHeartbeat(): void {
    this.armTimer(this.heartbeatMs, () => {
      if (this.clock.now() - this.lastSeen > this.heartbeatTimeoutMs) {
        this.dropSocket('heartbeat timeout');
        return;
      }
      this.send({ type: 'heartbeat' });
      this.armHeartbeat();
    });
  }

  private sendJoined(message: ClientMessage): void {
    if (this.currentState !== 'joined') throw new SignalingNotConnectedError(`cannot send ${message.type}: signaling client is ${this.currentState}`);
    this.send(message);
  }

  private send(message: ClientMessage): void {
    if (this.socket?.readyState === WS_OPEN) this.socket.send(encodeMessage(message));
  }

  // ── helpers ────────────────────────────────────────────────────────────────────────────────

  private setState(state: SignalingState, code?: number, reason?: string): void {
    const previous = this.currentState;
    if (previous === state) return;
    this.currentState = state;
    this.events.emit('state', { state, previous, ...(code !== undefined ? { code } : {}), ...(reason !== undefined ? { reason } : {}) });
  }

  /** One timer at a time: connect timeout, heartbeat or reconnect delay. */
  private armTimer(ms: number, fn: () => void): void {
    this.clearTimer();
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      fn();
    }, ms);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
