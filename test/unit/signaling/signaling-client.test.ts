// The signaling client's own logic — hello, resume, backoff schedule, heartbeats, close — driven
// by a manual clock and an in-memory socket standing in for the network (the real socket is
// covered by the integration tests).
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../../shared/signaling/backoff.ts';
import type { Clock } from '../../../shared/util/clock.ts';
import { SignalingClosedError, SignalingNotConnectedError } from '../../../shared/signaling/errors.ts';
import type { ClientMessage, ServerMessage } from '../../../shared/signaling/protocol.ts';
import type { WebSocketLike } from '../../../shared/signaling/web-socket-like.ts';
import { createSignalingClient } from '../../../shared/signaling/websocket-signaling-client.ts';
import { asPeerId, asRoomId } from '../../../shared/ids.ts';

class ManualClock implements Clock {
  time = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private nextId = 1;
  now = (): number => this.time;
  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + ms, fn });
    return id;
  };
  clearTimeout = (handle: unknown): void => void this.timers.delete(handle as number);
  get pending(): number {
    return this.timers.size;
  }
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.time = due[1].at;
      due[1].fn();
    }
    this.time = end;
  }
}

class MemorySocket implements WebSocketLike {
  static all: MemorySocket[] = [];
  readyState = 0;
  sent: ClientMessage[] = [];
  onopen: ((event: never) => void) | null = null;
  onmessage: ((event: never) => void) | null = null;
  onclose: ((event: never) => void) | null = null;
  onerror: ((event: never) => void) | null = null;
  constructor(readonly url: string) {
    MemorySocket.all.push(this);
  }
  send(data: string): void {
    this.sent.push(JSON.parse(data) as ClientMessage);
  }
  close(code = 1000, reason = ''): void {
    this.serverClose(code, reason);
  }
  open(): void {
    this.readyState = 1;
    (this.onopen as ((e: unknown) => void) | null)?.({});
  }
  deliver(message: ServerMessage): void {
    (this.onmessage as ((e: { data: unknown }) => void) | null)?.({ data: JSON.stringify(message) });
  }
  serverClose(code: number, reason = ''): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    (this.onclose as ((e: { code: number; reason: string }) => void) | null)?.({ code, reason });
  }
}

const caps = { kind: 'node', engine: 'cpu', memoryBytes: 1, modelsHeld: [], modelsWanted: [] } as const;
const welcome = (peerId: string, resumed = false): ServerMessage => ({
  type: 'welcome',
  v: 1,
  peerId: asPeerId(peerId),
  room: asRoomId('r'),
  resumeToken: `tok-${peerId}`,
  resumed,
  epoch: 1,
  members: [{ peerId: asPeerId(peerId), capabilities: { ...caps, modelsHeld: [], modelsWanted: [] } }],
  memberCount: 1,
  complete: true,
});

function setup() {
  MemorySocket.all = [];
  const clock = new ManualClock();
  const client = createSignalingClient({
    url: 'ws://test/signal',
    WebSocket: MemorySocket,
    room: asRoomId('r'),
    capabilities: { ...caps, modelsHeld: [], modelsWanted: [] },
    clock,
    random: () => 0.5,
    backoff: { baseMs: 100, maxMs: 1_000 },
    heartbeatIntervalMs: 1_000,
    heartbeatTimeoutMs: 2_500,
  });
  const socket = (i: number): MemorySocket => MemorySocket.all[i] as MemorySocket;
  return { clock, client, socket };
}

describe('SignalingClient', () => {
  it('says hello on open and is joined after welcome', async () => {
    const { client, socket } = setup();
    const joined = client.connect();
    expect(client.state).toBe('connecting');
    socket(0).open();
    expect(socket(0).sent[0]).toMatchObject({ type: 'hello', v: 1, room: 'r' });
    expect(socket(0).sent[0]).not.toHaveProperty('resume');
    socket(0).deliver(welcome('p1'));
    expect((await joined).peerId).toBe('p1');
    expect(client.state).toBe('joined');
    expect([...client.members.keys()]).toEqual(['p1']);
    expect(() => client.sendSignal(asPeerId('p2'), { sdp: 1 })).not.toThrow();
    expect(socket(0).sent[1]).toEqual({ type: 'signal', to: 'p2', data: { sdp: 1 } });
  });

  it('reconnects on the backoff schedule and resumes its id', async () => {
    const { clock, client, socket } = setup();
    const joined = client.connect();
    socket(0).open();
    socket(0).deliver(welcome('p1'));
    await joined;
    socket(0).serverClose(1012, 'server restarting');
    expect(client.state).toBe('reconnecting');
    expect(() => client.sendSignal(asPeerId('p2'), 1)).toThrow(SignalingNotConnectedError);
    // Three failed dials: delays follow backoffDelay(0..2) with random 0.5.
    for (let attempt = 0; attempt < 3; attempt++) {
      const delay = backoffDelay(attempt, () => 0.5, { baseMs: 100, maxMs: 1_000 });
      clock.advance(delay - 1);
      expect(MemorySocket.all).toHaveLength(attempt + 1);
      clock.advance(1);
      expect(MemorySocket.all).toHaveLength(attempt + 2);
      if (attempt < 2) socket(attempt + 1).serverClose(1006);
    }
    socket(3).open();
    expect(socket(3).sent[0]).toMatchObject({ type: 'hello', resume: { peerId: 'p1', token: 'tok-p1' } });
    const welcomes: boolean[] = [];
    client.on('welcome', (w) => welcomes.push(w.resumed));
    socket(3).deliver(welcome('p1', true));
    expect(client.state).toBe('joined');
    expect(welcomes).toEqual([true]);
    // The schedule starts over after a successful join.
    socket(3).serverClose(1006);
    clock.advance(backoffDelay(0, () => 0.5, { baseMs: 100 }));
    expect(MemorySocket.all).toHaveLength(5);
  });

  it('sends heartbeats and drops a silent server', async () => {
    const { clock, client, socket } = setup();
    const joined = client.connect();
    socket(0).open();
    socket(0).deliver(welcome('p1'));
    await joined;
    clock.advance(1_000);
    expect(socket(0).sent.at(-1)).toEqual({ type: 'heartbeat' });
    socket(0).deliver({ type: 'pong' });
    clock.advance(2_000);
    expect(client.state).toBe('joined');
    clock.advance(2_000); // 3 s without a frame > 2.5 s timeout
    expect(client.state).toBe('reconnecting');
    clock.advance(1_000);
    expect(MemorySocket.all).toHaveLength(2);
  });

  it('stops for good on a fatal close', async () => {
    const { clock, client, socket } = setup();
    const joined = client.connect();
    socket(0).open();
    socket(0).serverClose(4001, 'JoinTokenExpiredError');
    await expect(joined).rejects.toBeInstanceOf(SignalingClosedError);
    expect(client.state).toBe('closed');
    expect(clock.pending).toBe(0);
  });

  it('keeps the member view from joins and leaves', async () => {
    const { client, socket } = setup();
    const joined = client.connect();
    socket(0).open();
    socket(0).deliver(welcome('p1'));
    await joined;
    const info = { peerId: asPeerId('p2'), capabilities: { ...caps, modelsHeld: [], modelsWanted: [] } };
    socket(0).deliver({ type: 'peer-joined', epoch: 2, peers: [info], memberCount: 2 });
    expect([...client.members.keys()]).toEqual(['p1', 'p2']);
    socket(0).deliver({ type: 'peer-left', epoch: 3, peerIds: [asPeerId('p2')], memberCount: 1 });
    expect([...client.members.keys()]).toEqual(['p1']);
    expect(client.epoch).toBe(3);
  });

  it('close() says leave and releases every timer', async () => {
    const { clock, client, socket } = setup();
    const joined = client.connect();
    socket(0).open();
    socket(0).deliver(welcome('p1'));
    await joined;
    await client.close();
    expect(socket(0).sent.at(-1)).toEqual({ type: 'leave' });
    expect(client.state).toBe('closed');
    expect(clock.pending).toBe(0);
    await expect(client.connect()).rejects.toBeInstanceOf(SignalingClosedError);
  });
});
