import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { asPeerId } from '../../shared/ids.ts';
import type { DataPeer } from '../../shared/transport/data-peer.ts';
import { DataPeerConnection } from '../../shared/transport/data-peer-connection.ts';
import { ChannelNotOpenError, ConnectionClosedError, ProtocolViolationError, TransportError } from '../../shared/transport/errors.ts';
import { DEFAULT_SEND_QUEUE_OPTIONS } from '../../shared/transport/send-queue.ts';
import type { CloseEvent, PeerConnection } from '../../shared/transport/transport.ts';
import { DEFAULT_MAX_FRAME_BYTES } from '../../shared/wire/frame-codec.ts';
import type { Frame, PieceFrame } from '../../shared/wire/frame-types.ts';
import type { DataPeerPair } from '../util/data-peer-pair.ts';
import { bitfieldPayload, rawFrame } from '../util/raw-frames.ts';

export interface LinkUnderTest {
  /** A fresh pair of DataPeers of one link, both connected. */
  connect(): Promise<DataPeerPair>;
  /** Frees what the pairs share (a listener), after the suite. */
  release?(): void;
}

const MiB = 1024 * 1024;

/** Bytes no two calls share (so a swapped or repeated chunk shows). */
function pattern(bytes: number, seed: number): Uint8Array {
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) data[i] = ((i + seed * 7919) * 2654435761) >>> 24;
  return data;
}

const piece = (piece: number, data: Uint8Array): PieceFrame => ({ type: 'PIECE', requestId: piece + 1, unit: 'layer-000', piece, offset: 0, data });
const have = (piece: number): Frame => ({ type: 'HAVE', requestId: 0, unit: 'embed', piece });
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);

/** The next `count` frames `conn` delivers. */
function frames(conn: PeerConnection, count: number): Promise<Frame[]> {
  return new Promise((resolve) => {
    const got: Frame[] = [];
    const off = conn.on('frame', (f) => {
      got.push(f);
      if (got.length < count) return;
      off();
      resolve(got);
    });
  });
}

const closeOf = (conn: PeerConnection): Promise<CloseEvent> => new Promise((resolve) => conn.on('close', resolve));

/**
 * What every carrier of a connection promises (shared/transport/data-peer.ts, transport.ts): the
 * DataPeer itself (messages in order, `bufferedAmount` and its low-water callback, `destroy`
 * reaching the other side, lanes that throw typed once closed) and a `PeerConnection` over it
 * (frames whole and in order however they are chunked, ring before queued bulk, `send` as the
 * backpressure signal, close on both sides with a reason, typed rejections after close, and a
 * hostile frame ending its own link only).
 */
export function runTransportContract(name: string, setup: () => LinkUnderTest): void {
  describe(`Transport contract: ${name}`, () => {
    const link = setup();
    const open: DataPeer[] = [];
    const pair = async (): Promise<DataPeerPair> => {
      const p = await link.connect();
      open.push(p.dialer, p.answerer);
      return p;
    };
    const wrap = (peer: DataPeer, remote: string): PeerConnection =>
      new DataPeerConnection(asPeerId(remote), peer, { sendQueue: DEFAULT_SEND_QUEUE_OPTIONS, maxFrameBytes: DEFAULT_MAX_FRAME_BYTES });
    const connections = async (): Promise<{ ab: PeerConnection; ba: PeerConnection; raw: DataPeerPair }> => {
      const raw = await pair();
      return { ab: wrap(raw.dialer, 'answerer'), ba: wrap(raw.answerer, 'dialer'), raw };
    };
    afterEach(() => {
      for (const p of open.splice(0)) p.destroy();
    });
    afterAll(() => link.release?.());

    it('a connected DataPeer carries messages of either lane in order and intact, both ways', async () => {
      const { dialer, answerer } = await pair();
      expect([dialer.destroyed, answerer.destroyed]).toEqual([false, false]);
      const messages = Array.from({ length: 40 }, (_, i) => pattern(1 + ((i * 1597) % 60_000), i));
      const received = (p: DataPeer): Promise<Uint8Array[]> =>
        new Promise((resolve) => {
          const got: Uint8Array[] = [];
          p.on('data', (m) => {
            got.push(m.slice());
            if (got.length === messages.length) resolve(got);
          });
        });
      const [atAnswerer, atDialer] = [received(answerer), received(dialer)];
      // Lanes may be one channel or two; each keeps its own order, so all go on one lane per direction.
      for (const m of messages) dialer.lanes.bulk.send(m);
      for (const m of messages) answerer.lanes.ring.send(m);
      for (const got of await Promise.all([atAnswerer, atDialer])) {
        expect(got.map((m) => m.byteLength)).toEqual(messages.map((m) => m.byteLength));
        expect(got.every((m, i) => same(m, messages[i] as Uint8Array))).toBe(true);
      }
    });

    it('bufferedAmount counts what the channel holds; the low-water callback comes once it drained to the threshold', async () => {
      const { dialer, answerer } = await pair();
      const count = 64;
      let arrived = 0;
      const all = new Promise<void>((resolve) => answerer.on('data', () => ++arrived === count && resolve()));
      const threshold = 256 * 1024;
      // A native stack may deliver a call late (node-datachannel queues them across threads), when
      // the amount has grown again: what is promised is a call that finds the channel drained.
      const drained = new Promise<void>((resolve) =>
        dialer.lanes.bulk.onBufferedAmountLow(threshold, () => dialer.lanes.bulk.bufferedAmount <= threshold && resolve()),
      );
      // Made first, so the writes go back to back: a native stack drains in its own thread meanwhile.
      const messages = Array.from({ length: count }, (_, i) => pattern(64 * 1024, i));
      let most = 0;
      for (const m of messages) {
        dialer.lanes.bulk.send(m);
        most = Math.max(most, dialer.lanes.bulk.bufferedAmount);
      }
      // 4 MiB written in one go: more than any carrier hands on at once.
      expect(most).toBeGreaterThan(threshold);
      await drained;
      await all;
    });

    it('destroy is idempotent, reaches the other side as close, and lanes then throw ChannelNotOpenError', async () => {
      const { dialer, answerer } = await pair();
      const lanes = [dialer.lanes, answerer.lanes];
      const remoteClosed = new Promise<void>((resolve) => {
        answerer.on('close', resolve);
        answerer.on('error', () => resolve()); // a browser stack reports a remote close as an error
      });
      dialer.destroy();
      dialer.destroy();
      expect(dialer.destroyed).toBe(true);
      await remoteClosed;
      for (const l of lanes) expect(() => l.bulk.send(new Uint8Array(8))).toThrow(ChannelNotOpenError);
    });

    it('frames arrive whole and in order on each lane, a chunked large one included, both ways; PING answers', async () => {
      const { ab, ba } = await connections();
      // 6 MiB: chunked by every carrier (64 KiB data-channel messages, 4 MiB socket messages).
      const bulk = [piece(0, pattern(6 * MiB, 1)), ...Array.from({ length: 20 }, (_, i) => piece(i + 1, pattern(10_000 + i, i + 2)))];
      const ring = Array.from({ length: 30 }, (_, i) => have(i));
      const atB = frames(ba, bulk.length + ring.length);
      const atA = frames(ab, bulk.length + ring.length);
      const sends: Promise<void>[] = [];
      // Lanes interleaved as callers do: each keeps its order whatever the other does.
      for (const from of [ab, ba]) {
        for (let i = 0; i < Math.max(bulk.length, ring.length); i++) {
          if (i < bulk.length) sends.push(from.send(bulk[i] as Frame, 'bulk'));
          if (i < ring.length) sends.push(from.send(ring[i] as Frame, 'ring'));
        }
      }
      await Promise.all(sends);
      for (const got of await Promise.all([atB, atA])) {
        const pieces = got.filter((f): f is PieceFrame => f.type === 'PIECE');
        expect(pieces.map((f) => f.piece)).toEqual(bulk.map((f) => f.piece));
        expect(pieces.every((f, i) => same(f.data, (bulk[i] as PieceFrame).data))).toBe(true);
        expect(got.filter((f) => f.type === 'HAVE')).toEqual(ring);
      }
      expect(await ab.ping(30_000)).toBeGreaterThanOrEqual(0);
      expect(ab.stats().rttMs).toBeGreaterThanOrEqual(0);
      expect(ab.stats().bytesSent).toBeGreaterThan(6 * MiB);
      expect(ba.stats().framesReceived).toBeGreaterThanOrEqual(bulk.length + ring.length);
    });

    it('a ring frame overtakes bulk frames queued before it; send resolves only once handed on (queuedBytes)', async () => {
      const { ab, ba } = await connections();
      const bulk = Array.from({ length: 6 }, (_, i) => piece(i, pattern(2 * MiB, i)));
      const arrived = frames(ba, bulk.length + 1);
      const sends = bulk.map((f) => ab.send(f, 'bulk'));
      // 12 MiB: past every carrier's window, so some of it waits in the queue for credit.
      expect(ab.stats().queuedBytes).toBeGreaterThan(0);
      sends.push(ab.send(have(99), 'ring'));
      await Promise.all(sends);
      expect(ab.stats().queuedBytes).toBe(0);
      const order = (await arrived).map((f) => (f.type === 'PIECE' ? f.piece : 'ring'));
      expect(order.indexOf('ring')).toBeLessThan(order.indexOf(bulk.length - 1));
      expect(order.filter((x) => x !== 'ring')).toEqual(bulk.map((f) => f.piece));
    });

    it.each(['dialer', 'answerer'] as const)('close from the %s fires close on both with a reason; sends and pings then reject typed', async (side) => {
      const { ab, ba, raw } = await connections();
      const [closer, other] = side === 'dialer' ? [ab, ba] : [ba, ab];
      const closed = [closeOf(closer), closeOf(other)];
      // 12 MiB: past every carrier's window, so the last piece is still queued when the link closes.
      const sends = [0, 1, 2].map((i) => closer.send(piece(i, pattern(4 * MiB, i)), 'bulk').catch((e: unknown) => e));
      closer.close('test done');
      const [own, remote] = await Promise.all(closed);
      expect(own).toEqual({ reason: 'test done' });
      expect(remote?.reason).toMatch(/\S/);
      expect(remote?.error).toBeInstanceOf(TransportError);
      expect([ab.closed, ba.closed, raw.dialer.destroyed, raw.answerer.destroyed]).toEqual([true, true, true, true]);
      expect(await sends[2]).toBeInstanceOf(ConnectionClosedError);
      for (const c of [ab, ba]) {
        await expect(c.send(have(1), 'ring')).rejects.toBeInstanceOf(ConnectionClosedError);
        await expect(c.ping(1000)).rejects.toBeInstanceOf(ConnectionClosedError);
      }
      closer.close('again'); // idempotent: no second event
    });

    it.each([
      {
        what: 'a PIECE header claiming more than any piece',
        bytes: rawFrame({ type: 'PIECE', payload: new Uint8Array(100), payloadLength: 64 * MiB, more: true }),
        dropped: 'oversized',
      },
      {
        what: 'a BITFIELD claiming millions of pieces',
        bytes: rawFrame({ type: 'BITFIELD', payload: bitfieldPayload('embed', 4_000_000, 60_000) }),
        dropped: 'malformed',
      },
    ])('$what closes that link only', async ({ bytes, dropped }) => {
      const hostile = await connections();
      const bystander = await connections();
      const closed = [closeOf(hostile.ba), closeOf(hostile.ab)];
      hostile.raw.dialer.lanes.bulk.send(bytes);
      const [atVictim, atSender] = await Promise.all(closed);
      expect(atVictim?.error).toBeInstanceOf(ProtocolViolationError);
      expect(hostile.ba.stats().dropped).toEqual({ [dropped]: 1 });
      expect(atSender?.error).toBeInstanceOf(TransportError);
      // The other link, same process and carrier, carries on.
      const got = frames(bystander.ba, 1);
      await bystander.ab.send(have(7), 'ring');
      expect(await got).toEqual([have(7)]);
      expect(await bystander.ba.ping(30_000)).toBeGreaterThanOrEqual(0);
      expect([bystander.ab.closed, bystander.ba.closed]).toEqual([false, false]);
    });
  });
}
