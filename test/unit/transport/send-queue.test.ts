// The queue logic against a scripted channel: the thing under test is the scheduling, so the
// channel here is a plain recorder whose bufferedAmount the test drains by hand.
import { describe, expect, it } from 'vitest';
import { SendQueue, type ChannelSink, type SendQueueOptions } from '../../../shared/transport/send-queue.ts';
import { encodeFrame, FrameAssembler, messageLane, type Frame } from '../../../shared/wire/index.ts';
import { joinMessage } from '../../../shared/wire/chunking.ts';
import { encodeFrameParts } from '../../../shared/wire/frame-codec.ts';
import { asSessionId } from '../../../shared/ids.ts';

class RecordingChannel implements ChannelSink {
  bufferedAmount = 0;
  maxBuffered = 0;
  sent: Uint8Array[] = [];
  failWith: Error | undefined;
  send(message: Uint8Array): void {
    if (this.failWith) throw this.failWith;
    this.sent.push(message);
    this.bufferedAmount += message.byteLength;
    this.maxBuffered = Math.max(this.maxBuffered, this.bufferedAmount);
  }
  drain(): void {
    this.bufferedAmount = 0;
  }
}

const opts: SendQueueOptions = { highWaterMark: 100_000, lowWaterMark: 20_000, ringLimit: 1_000_000, maxMessageBytes: 16_384, windowBytes: Infinity };
const piece = (n: number, id: number): Frame => ({ type: 'PIECE', requestId: id, unit: 'layer-000', piece: id, offset: 0, data: new Uint8Array(n).fill(id) });
const token = (step: number): Frame => ({ type: 'TOKEN', requestId: 0, session: asSessionId('s'), step, tokenId: step, logprob: -1 });

/** Frames with piece bytes as hex: vitest's deep equality is slow on MB-sized typed arrays. */
const brief = (f: Frame): unknown => (f.type === 'PIECE' ? { ...f, data: Buffer.from(f.data).toString('hex') } : f);

function decodeAll(msgs: Uint8Array[]): unknown[] {
  const a = new FrameAssembler();
  return msgs.flatMap((m) => a.push(m) ?? []).map(brief);
}

describe('SendQueue', () => {
  it('stops writing bulk at the high-water mark and resumes on pump', async () => {
    const ch = new RecordingChannel();
    const q = new SendQueue({ ring: ch, bulk: ch }, opts);
    let done = false;
    const sent = q.enqueue(encodeFrame(piece(1_000_000, 1)), 'bulk').then(() => {
      done = true;
    });
    expect(ch.bufferedAmount).toBeGreaterThanOrEqual(opts.highWaterMark);
    expect(ch.bufferedAmount).toBeLessThan(opts.highWaterMark + opts.maxMessageBytes);
    expect(q.pending).toBe(true);
    for (let i = 0; i < 100 && q.pending; i++) {
      await Promise.resolve();
      expect(done).toBe(false);
      ch.drain();
      q.pump();
    }
    await sent;
    expect(done).toBe(true);
    expect(ch.maxBuffered).toBeLessThan(opts.highWaterMark + opts.maxMessageBytes);
    expect(decodeAll(ch.sent)).toEqual([piece(1_000_000, 1)].map(brief));
  });

  it('writes ring frames ahead of queued bulk chunks, even past the high-water mark', async () => {
    const ch = new RecordingChannel();
    const q = new SendQueue({ ring: ch, bulk: ch }, opts);
    const bulk = q.enqueue(encodeFrame(piece(500_000, 2)), 'bulk');
    const before = ch.sent.length;
    const ring = q.enqueue(encodeFrame(token(1)), 'ring');
    await ring;
    expect(ch.sent.length).toBe(before + 1); // written at once, not after the rest of the piece
    while (q.pending) {
      ch.drain();
      q.pump();
    }
    await bulk;
    expect(decodeAll(ch.sent)).toEqual([token(1), piece(500_000, 2)].map(brief));
  });

  it('sends ring frames on a dedicated ring channel without waiting for bulk room', async () => {
    const ring = new RecordingChannel();
    const bulk = new RecordingChannel();
    const q = new SendQueue({ ring, bulk }, opts);
    const big = q.enqueue(encodeFrame(piece(500_000, 3)), 'bulk');
    await q.enqueue(encodeFrame(token(7)), 'ring');
    expect(decodeAll(ring.sent)).toEqual([token(7)].map(brief));
    while (q.pending) {
      bulk.drain();
      q.pump();
    }
    await big;
    expect(decodeAll(bulk.sent)).toEqual([piece(500_000, 3)].map(brief));
  });

  it('keeps bulk bytes in flight within the credit window', async () => {
    const ch = new RecordingChannel();
    const q = new SendQueue({ ring: ch, bulk: ch }, { ...opts, windowBytes: 40_000 });
    const sent = q.enqueue(encodeFrame(piece(200_000, 4)), 'bulk');
    ch.drain();
    q.pump();
    expect(q.bytesInFlight).toBeLessThanOrEqual(40_000);
    const before = ch.sent.length;
    expect(before).toBeGreaterThan(0);
    await q.enqueue(encodeFrame(token(1)), 'ring'); // ring frames are not subject to the window
    expect(ch.sent.length).toBe(before + 1);
    for (let i = 0; i < 100 && q.pending; i++) {
      ch.drain();
      q.grant(q.bytesInFlight);
      expect(q.bytesInFlight).toBeLessThanOrEqual(40_000);
    }
    await sent;
    expect(decodeAll(ch.sent)).toEqual([token(1), piece(200_000, 4)].map(brief));
  });

  it('shrinks the bulk window and messages while ring traffic flows, and restores them when it stops', async () => {
    const ch = new RecordingChannel();
    let now = 0;
    const active = { ...opts, windowBytes: 60_000, ringActiveWindowBytes: 8_000, ringActiveMessageBytes: 4_096, ringQuietMs: 100 };
    const q = new SendQueue({ ring: ch, bulk: ch }, active, undefined, () => now);
    const bulkMessages = (): Uint8Array[] => ch.sent.filter((m) => messageLane(m) === 'bulk');
    // A control frame (CREDIT) on the ring lane is not ring activity.
    const credit: Frame = { type: 'CREDIT', requestId: 0, bytes: 1 };
    await q.enqueue(encodeFrame(credit), 'ring', true);
    expect(q.ringActive).toBe(false);
    const sent = q.enqueue(encodeFrame(piece(200_000, 5)), 'bulk');
    expect(q.bytesInFlight).toBeGreaterThan(8_000); // the full window: several 16 KiB messages
    expect(Math.max(...bulkMessages().map((m) => m.byteLength))).toBe(opts.maxMessageBytes);

    await q.enqueue(encodeFrame(token(1)), 'ring');
    expect(q.ringActive).toBe(true);
    const cutAt = bulkMessages().length + 1; // the next chunk was cut before the token arrived
    for (let i = 0; i < 20; i++) {
      ch.drain();
      q.grant(q.bytesInFlight);
      // The first write after the token may be the full-size chunk already cut (alone in the window).
      if (i > 0) expect(q.bytesInFlight).toBeLessThanOrEqual(8_000);
    }
    expect(
      bulkMessages()
        .slice(cutAt)
        .every((m) => m.byteLength <= 4_096),
    ).toBe(true);

    now = 100; // quiet for ringQuietMs: back to the full window and full-size messages
    expect(q.ringActive).toBe(false);
    const before = bulkMessages().length;
    for (let i = 0; i < 100 && q.pending; i++) {
      ch.drain();
      q.grant(q.bytesInFlight);
    }
    await sent;
    expect(
      Math.max(
        ...bulkMessages()
          .slice(before + 1)
          .map((m) => m.byteLength),
      ),
    ).toBe(opts.maxMessageBytes);
    expect(decodeAll(ch.sent)).toEqual([credit, token(1), piece(200_000, 5)].map(brief));
  });

  it('keeps ring frames under the ring limit', () => {
    const ch = new RecordingChannel();
    ch.bufferedAmount = opts.ringLimit;
    const q = new SendQueue({ ring: ch, bulk: ch }, opts);
    void q.enqueue(encodeFrame(token(1)), 'ring');
    expect(ch.sent).toHaveLength(0);
    ch.drain();
    q.pump();
    expect(ch.sent).toHaveLength(1);
  });

  it('keeps frames whole and in order within a lane', async () => {
    const ch = new RecordingChannel();
    const q = new SendQueue({ ring: ch, bulk: ch }, opts);
    const all = [q.enqueue(encodeFrame(piece(300_000, 1)), 'bulk'), q.enqueue(encodeFrame(piece(40_000, 2)), 'bulk')];
    for (let i = 0; i < 3; i++) all.push(q.enqueue(encodeFrame(token(i)), 'ring'));
    while (q.pending) {
      ch.drain();
      q.pump();
    }
    await Promise.all(all);
    expect(decodeAll(ch.sent)).toEqual([token(0), token(1), token(2), piece(300_000, 1), piece(40_000, 2)].map(brief));
  });

  it('rejects everything queued when the channel throws, and reports it once', async () => {
    const ch = new RecordingChannel();
    const errors: unknown[] = [];
    const q = new SendQueue({ ring: ch, bulk: ch }, opts, (e) => errors.push(e));
    const first = q.enqueue(encodeFrame(piece(400_000, 1)), 'bulk');
    const second = q.enqueue(encodeFrame(piece(10, 2)), 'bulk');
    ch.failWith = new Error('InvalidStateError');
    ch.drain();
    q.pump();
    await expect(first).rejects.toBe(ch.failWith);
    await expect(second).rejects.toBe(ch.failWith);
    await expect(q.enqueue(encodeFrame(token(0)), 'ring')).rejects.toBe(ch.failWith);
    expect(errors).toEqual([ch.failWith]);
    expect(q.queuedBytes).toBe(0);
  });
});

describe('SendQueue with frames as parts (encodeFrameParts)', () => {
  class PartsChannel extends RecordingChannel {
    parts: (readonly Uint8Array[])[] = [];
    sendParts(parts: readonly Uint8Array[]): void {
      this.parts.push(parts);
      this.send(joinMessage(parts));
    }
  }

  it('hands a frame that fits one message to a channel that writes parts, the data part not copied', async () => {
    const ch = new PartsChannel();
    const q = new SendQueue({ ring: ch, bulk: ch }, { ...opts, maxMessageBytes: 1 << 20 });
    const f = piece(50_000, 3) as Extract<Frame, { type: 'PIECE' }>;
    await q.enqueue(encodeFrameParts(f), 'bulk');
    expect(ch.parts).toHaveLength(1);
    expect(ch.parts[0]?.[1]).toBe(f.data);
    expect(decodeAll(ch.sent)).toEqual([brief(f)]);
  });

  it('joins the parts for a channel that cannot write them, and chunks across them alike', async () => {
    for (const max of [16_384, 1 << 20]) {
      const plain = new RecordingChannel();
      const frames = [piece(50_000, 1), token(1), piece(3, 2)];
      const q = new SendQueue({ ring: plain, bulk: plain }, { ...opts, maxMessageBytes: max });
      await Promise.all(frames.map((f) => q.enqueue(encodeFrameParts(f), f.type === 'PIECE' ? 'bulk' : 'ring')));
      const sorted = (xs: unknown[]): string[] => xs.map((x) => JSON.stringify(x)).sort();
      expect(sorted(decodeAll(plain.sent))).toEqual(sorted(frames.map(brief)));
      expect(plain.sent.every((m) => m.byteLength <= max)).toBe(true);
    }
  });

  it('encodes to the same bytes as encodeFrame', () => {
    for (const f of [piece(70_000, 9), piece(1, 4), token(2)])
      expect(Buffer.from(joinMessage(encodeFrameParts(f))).equals(Buffer.from(encodeFrame(f)))).toBe(true);
  });
});
