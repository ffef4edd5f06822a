import { describe, expect, it } from 'vitest';
import type { PeerId } from '../../../shared/ids.ts';
import type { DataLane, DataPeer } from '../../../shared/transport/data-peer.ts';
import { DataPeerConnection } from '../../../shared/transport/data-peer-connection.ts';
import { FrameHandlerError, ProtocolViolationError, SendQueueFullError } from '../../../shared/transport/errors.ts';
import { DEFAULT_SEND_QUEUE_OPTIONS, SendQueue } from '../../../shared/transport/send-queue.ts';
import type { CloseEvent } from '../../../shared/transport/transport.ts';
import { encodeFrame } from '../../../shared/wire/frame-codec.ts';
import { FrameTooLargeError } from '../../../shared/wire/errors.ts';
import type { Frame } from '../../../shared/wire/frame-types.ts';
import { bitfieldPayload, rawFrame } from '../../util/raw-frames.ts';

/** The far end of a link, as bytes: what this side sends is recorded, `deliver` is the remote writing. */
class WireEnd implements DataPeer {
  readonly sent: Uint8Array[] = [];
  destroyed = false;
  private readonly handlers: Record<string, ((x?: unknown) => void)[]> = {};
  readonly lanes: Record<'ring' | 'bulk', DataLane>;
  constructor() {
    const lane: DataLane = { bufferedAmount: 0, send: (m) => void this.sent.push(m.slice()), onBufferedAmountLow: () => undefined };
    this.lanes = { ring: lane, bulk: lane };
  }
  signal(): void {}
  on(event: 'signal', listener: (data: unknown) => void): void;
  on(event: 'connect' | 'close', listener: () => void): void;
  on(event: 'data', listener: (message: Uint8Array) => void): void;
  on(event: 'error', listener: (err: unknown) => void): void;
  on(event: string, listener: (x: never) => void): void {
    (this.handlers[event] ??= []).push(listener as (x?: unknown) => void);
  }
  /** A message from the remote, as the channel's callback would hand it over. */
  deliver(m: Uint8Array): void {
    for (const h of this.handlers['data'] ?? []) h(m);
  }
  /**
   * Messages that arrived before anyone listened: the first `data` listener gets them at once,
   * synchronously, as the simple-peer DataPeer replays its early messages.
   */
  holdEarly(messages: Uint8Array[]): void {
    const on = this.on.bind(this);
    this.on = ((event: string, listener: (x: never) => void) => {
      on(event as 'data', listener as (m: Uint8Array) => void);
      if (event === 'data') for (const m of messages.splice(0)) (listener as (m: Uint8Array) => void)(m);
    }) as WireEnd['on'];
  }
  destroy(): void {
    this.destroyed = true;
  }
}

function link(): { end: WireEnd; conn: DataPeerConnection; closed: CloseEvent[] } {
  const end = new WireEnd();
  const conn = new DataPeerConnection('remote' as PeerId, end, { sendQueue: DEFAULT_SEND_QUEUE_OPTIONS, maxFrameBytes: 64 * 1024 * 1024 });
  const closed: CloseEvent[] = [];
  conn.on('close', (e) => closed.push(e));
  return { end, conn, closed };
}

const have: Frame = { type: 'HAVE', requestId: 0, unit: 'embed', piece: 1 };
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

describe('DataPeerConnection guards the process against a link', () => {
  it('a frame listener that throws closes this link with FrameHandlerError and never reaches the caller', async () => {
    const { end, conn, closed } = link();
    const seen: Frame[] = [];
    conn.on('frame', () => {
      throw new RangeError('Set maximum size exceeded');
    });
    conn.on('frame', (f) => seen.push(f));
    await settle();
    expect(() => end.deliver(encodeFrame(have))).not.toThrow();
    expect(conn.closed).toBe(true);
    expect(end.destroyed).toBe(true);
    expect(closed[0]?.error).toBeInstanceOf(FrameHandlerError);
    expect((closed[0]?.error?.cause as Error).name).toBe('RangeError');
    expect(conn.stats().dropped).toEqual({ 'handler-error': 1 });
    expect(seen).toEqual([]); // nothing is delivered once the link is closed
  });

  it('a listener throwing on a frame held for the first listener (released from a timer) closes the link too', async () => {
    const { end, conn, closed } = link();
    end.deliver(encodeFrame(have)); // before anyone listens
    conn.on('frame', () => {
      throw new Error('boom');
    });
    await settle();
    expect(closed[0]?.error).toBeInstanceOf(FrameHandlerError);
  });

  it('a malformed message that arrived before the connection was built closes it once its owner listens', async () => {
    const end = new WireEnd();
    end.holdEarly([new Uint8Array(32).fill(0x41)]);
    const conn = new DataPeerConnection('remote' as PeerId, end, { sendQueue: DEFAULT_SEND_QUEUE_OPTIONS, maxFrameBytes: 1 << 20 });
    // The owner subscribes right after construction, as the transport's `open` listeners do.
    const closed: CloseEvent[] = [];
    conn.on('close', (e) => closed.push(e));
    expect(conn.closed).toBe(false);
    await Promise.resolve();
    expect(closed.map((e) => e.reason)).toEqual(['protocol violation']);
    expect(closed[0]?.error).toBeInstanceOf(ProtocolViolationError);
  });

  it('early messages keep their order before those that follow', async () => {
    const end = new WireEnd();
    const frames: Frame[] = [have, { ...have, piece: 2 }, { ...have, piece: 3 }];
    end.holdEarly(frames.slice(0, 2).map((f) => encodeFrame(f)));
    const conn = new DataPeerConnection('remote' as PeerId, end, { sendQueue: DEFAULT_SEND_QUEUE_OPTIONS, maxFrameBytes: 1 << 20 });
    end.deliver(encodeFrame(frames[2] as Frame)); // before the replay's microtask
    const seen: Frame[] = [];
    conn.on('frame', (f) => seen.push(f));
    await settle();
    expect(seen).toEqual(frames);
  });

  it('a close listener that throws is counted; the other close listeners still run', () => {
    const { conn, closed } = link();
    conn.on('close', () => {
      throw new Error('cleanup bug');
    });
    const after: string[] = [];
    conn.on('close', (e) => after.push(e.reason));
    expect(() => conn.close('bye')).not.toThrow();
    expect(closed.map((e) => e.reason)).toEqual(['bye']);
    expect(after).toEqual(['bye']);
    expect(conn.stats().dropped).toEqual({ 'handler-error': 1 });
  });

  it.each([
    {
      what: 'a BITFIELD claiming millions of pieces',
      bytes: rawFrame({ type: 'BITFIELD', payload: bitfieldPayload('layer-000', 4_000_000, 60_000) }),
      reason: 'malformed',
    },
    {
      what: 'a control frame over its 64 KiB cap',
      bytes: rawFrame({ type: 'HAVE', payload: new Uint8Array(1000), payloadLength: 1 << 20, more: true }),
      reason: 'oversized',
    },
    { what: 'a bad magic', bytes: new Uint8Array(32).fill(0x41), reason: 'malformed' },
  ])('$what: closed as a protocol violation, counted as $reason', ({ bytes, reason }) => {
    const { end, conn, closed } = link();
    expect(() => end.deliver(bytes)).not.toThrow();
    expect(closed[0]?.error).toBeInstanceOf(ProtocolViolationError);
    expect(conn.stats().dropped).toEqual({ [reason]: 1 });
  });

  it('an oversized frame is refused from its first chunk, typed', () => {
    const { end, closed } = link();
    end.deliver(rawFrame({ type: 'PING', payload: new Uint8Array(100), payloadLength: 70_000, more: true }));
    expect(closed[0]?.error?.cause).toBeInstanceOf(FrameTooLargeError);
  });

  it('frames nobody ever listens to are dropped past their bound, counted', () => {
    const { end, conn } = link();
    for (let i = 0; i < 1100; i++) end.deliver(encodeFrame(have));
    expect(conn.stats().dropped).toEqual({ unlistened: 76 });
  });
});

describe('SendQueue bound', () => {
  it('fails instead of growing when a peer that does not read has maxQueuedFrames waiting', async () => {
    // A channel already past its ring limit: nothing more is written, everything waits.
    const sink = { bufferedAmount: Number.MAX_SAFE_INTEGER, send: () => undefined };
    const errors: unknown[] = [];
    const q = new SendQueue({ ring: sink, bulk: sink }, { ...DEFAULT_SEND_QUEUE_OPTIONS, maxQueuedFrames: 100 }, (e) => errors.push(e));
    const waiting = Array.from({ length: 100 }, () => q.enqueue(encodeFrame(have), 'ring').catch((e: unknown) => e));
    await expect(q.enqueue(encodeFrame(have), 'ring')).rejects.toBeInstanceOf(SendQueueFullError);
    expect(errors[0]).toBeInstanceOf(SendQueueFullError);
    expect((await Promise.all(waiting)).every((e) => e instanceof SendQueueFullError)).toBe(true);
  });
});
