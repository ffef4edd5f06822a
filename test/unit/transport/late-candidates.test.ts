// Candidates that trickle in after a link opened still reach the other side (late-candidates.ts):
// two PeerTransports over an in-memory signaling relay, with scripted WebRTC peers that open on
// offer/answer and record what they are fed.
import { describe, expect, it } from 'vitest';
import { asPeerId, type PeerId } from '../../../shared/ids.ts';
import type { DataLane, DataPeer } from '../../../shared/transport/data-peer.ts';
import { MAX_LATE_CANDIDATES } from '../../../shared/transport/late-candidates.ts';
import { PeerTransport } from '../../../shared/transport/peer-transport.ts';

type Handler = (x?: unknown) => void;

class ScriptedPeer implements DataPeer {
  readonly fed: unknown[] = [];
  destroyed = false;
  readonly lanes: Record<'ring' | 'bulk', DataLane>;
  private readonly handlers: Record<string, Handler[]> = {};
  constructor(readonly initiator: boolean) {
    const lane: DataLane = { bufferedAmount: 0, send: () => undefined, onBufferedAmountLow: () => undefined };
    this.lanes = { ring: lane, bulk: lane };
    if (initiator) queueMicrotask(() => this.emit('signal', { type: 'offer', sdp: 'o' }));
  }
  signal(data: unknown): void {
    this.fed.push(data);
    const type = (data as { type?: string }).type;
    if (type === 'offer') {
      this.emit('signal', { type: 'answer', sdp: 'a' });
      queueMicrotask(() => this.emit('connect'));
    } else if (type === 'answer') queueMicrotask(() => this.emit('connect'));
  }
  on(event: string, listener: (x: never) => void): void {
    (this.handlers[event] ??= []).push(listener as Handler);
  }
  emit(event: string, x?: unknown): void {
    for (const h of this.handlers[event] ?? []) h(x);
  }
  destroy(): void {
    this.destroyed = true;
  }
  candidates(): unknown[] {
    return this.fed.filter((d) => (d as { type?: string }).type === 'candidate');
  }
}

type Listener = (m: { from: PeerId; data: unknown }) => void;

/** Two transports whose signals go straight to each other; `tamper` sees every envelope on the way. */
function pair(tamper: (env: Record<string, unknown>) => Record<string, unknown> = (e) => e) {
  const listeners = new Map<string, Listener[]>();
  const peers = new Map<string, ScriptedPeer[]>();
  const side = (self: string) => {
    const signaling = {
      peerId: asPeerId(self),
      sendSignal: (to: PeerId, data: unknown) =>
        queueMicrotask(() => {
          for (const l of listeners.get(to) ?? []) l({ from: asPeerId(self), data: tamper(data as Record<string, unknown>) });
        }),
      on: (event: string, l: Listener) => {
        if (event === 'signal') listeners.set(self, [...(listeners.get(self) ?? []), l]);
        return () => undefined;
      },
    };
    const made: ScriptedPeer[] = [];
    peers.set(self, made);
    const transport = new PeerTransport({
      signaling: signaling as unknown as ConstructorParameters<typeof PeerTransport>[0]['signaling'],
      createPeer: ({ initiator }) => {
        const p = new ScriptedPeer(initiator);
        made.push(p);
        return p;
      },
    });
    return { transport, made };
  };
  return { a: side('a'), b: side('b') };
}

const candidate = (n: number) => ({
  type: 'candidate',
  candidate: { candidate: `candidate:${n} 1 udp 1 203.0.113.1 ${40000 + n} typ relay`, sdpMLineIndex: 0, sdpMid: '0' },
});

describe('candidates after a link opened', () => {
  it('reach the remote link both ways; an SDP after opening does not go out', async () => {
    const { a, b } = pair();
    const conn = await a.transport.connect(asPeerId('b'));
    expect(conn.remotePeerId).toBe('b');
    await new Promise((r) => setTimeout(r, 0));
    const [pa] = a.made;
    const [pb] = b.made;
    pa!.emit('signal', candidate(1)); // a's relay candidate, gathered after the link opened
    pb!.emit('signal', candidate(2));
    pa!.emit('signal', { type: 'renegotiate', renegotiate: true });
    await new Promise((r) => setTimeout(r, 0));
    expect(pb!.candidates()).toEqual([candidate(1)]);
    expect(pa!.candidates()).toEqual([candidate(2)]);
    expect(pb!.fed.some((d) => (d as { type?: string }).type === 'renegotiate')).toBe(false);
    await a.transport.close();
    await b.transport.close();
  });

  it(`are taken up to ${MAX_LATE_CANDIDATES} per link, and only for the attempt that opened it`, async () => {
    let rewrite = false;
    const { a, b } = pair((env) => (rewrite ? { ...env, attempt: 'some-other-attempt' } : env));
    await a.transport.connect(asPeerId('b'));
    await new Promise((r) => setTimeout(r, 0));
    const [pa] = a.made;
    const [pb] = b.made;
    for (let i = 0; i < MAX_LATE_CANDIDATES + 10; i++) pa!.emit('signal', candidate(i));
    await new Promise((r) => setTimeout(r, 0));
    expect(pb!.candidates()).toHaveLength(MAX_LATE_CANDIDATES);
    rewrite = true;
    pb!.emit('signal', candidate(99));
    await new Promise((r) => setTimeout(r, 0));
    expect(pa!.candidates()).toEqual([]);
    expect(a.made).toHaveLength(1); // a stray candidate starts nothing
    await a.transport.close();
    await b.transport.close();
  });

  it('stop once the link closed', async () => {
    const { a, b } = pair();
    const conn = await a.transport.connect(asPeerId('b'));
    await new Promise((r) => setTimeout(r, 0));
    const [pa] = a.made;
    const [pb] = b.made;
    conn.close('test');
    pa!.emit('signal', candidate(1));
    await new Promise((r) => setTimeout(r, 0));
    expect(pb!.candidates()).toEqual([]);
    await a.transport.close();
    await b.transport.close();
  });
});
