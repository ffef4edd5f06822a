// Splitting frames into channel messages and putting them back together.
//
// Interleaving rule: a sender has two lanes (ring, bulk). Within a lane, the chunks of one frame are
// sent back to back, in order, before the lane's next frame; between any two chunks of one lane the
// other lane may send whole frames or chunks of its own. So a small ACTIVATION can overtake a 4 MiB
// PIECE mid-way, and a receiver holds at most one partial frame per lane (two per connection),
// each within its type's cap (frame-limits.ts), together within `maxReassemblyBytes`; only bytes
// actually received are kept, beyond a preallocation of at most PREALLOCATE_MAX_BYTES per lane.
import { checkPayloadLength, decodeFrame, DEFAULT_MAX_FRAME_BYTES } from './frame-codec.ts';
import { ChunkSequenceError, FrameTooLargeError, InvalidFrameError } from './errors.ts';
import { DEFAULT_MAX_REASSEMBLY_BYTES } from './frame-limits.ts';
import type { Frame } from './frame-types.ts';
import { FLAG_CONT, FLAG_MORE, FLAG_RING_LANE, HEADER_BYTES, readHeader, writeHeader, type FrameHeader } from './header.ts';

export type Lane = 'ring' | 'bulk';

/** 64 KiB: fits every browser's SCTP message limit with room to spare (docs/wire-protocol.md). */
export const MAX_MESSAGE_BYTES = 64 * 1024;

/**
 * One channel message: its bytes, or parts whose concatenation they are (`encodeFrameParts`), for
 * a channel that can write parts without joining them (a socket); others join them first.
 */
export type Message = Uint8Array | readonly Uint8Array[];

/** Bytes of a message. */
export function messageBytes(m: Message): number {
  if (m instanceof Uint8Array) return m.byteLength;
  let n = 0;
  for (const p of m) n += p.byteLength;
  return n;
}

/** A message as one buffer (a copy only when it has several parts). */
export function joinMessage(m: Message): Uint8Array {
  if (m instanceof Uint8Array) return m;
  if (m.length === 1) return m[0] as Uint8Array;
  const out = new Uint8Array(messageBytes(m));
  let at = 0;
  for (const p of m) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * Splits one encoded frame (from `encodeFrame`) into messages of at most `maxMessageBytes`, each
 * with its own header. A frame that already fits is returned as one message (lane bit set).
 */
export function splitFrame(encoded: Uint8Array, lane: Lane, maxMessageBytes = MAX_MESSAGE_BYTES): Uint8Array[] {
  return [...frameChunks(encoded.slice(), lane, maxMessageBytes)].map(joinMessage);
}

/**
 * Lazy form of `splitFrame` for the send queue, which cuts the next chunk only when the channel has
 * room. Takes ownership of `encoded` (one buffer, or the parts of `encodeFrameParts`): a frame that
 * fits is sent as is, lane bit set in place; a larger one is cut into chunks copied from its parts.
 */
export function* frameChunks(
  encoded: Message,
  lane: Lane,
  /** A number, or a function asked before each chunk is cut (the send queue shrinks chunks while ring traffic flows). */
  maxMessageBytes: number | (() => number) = MAX_MESSAGE_BYTES,
): Generator<Message, void, undefined> {
  const limit = (): number => {
    const n = typeof maxMessageBytes === 'number' ? maxMessageBytes : maxMessageBytes();
    if (n <= HEADER_BYTES) throw new InvalidFrameError(`maxMessageBytes must exceed the ${HEADER_BYTES}-byte header`);
    return n;
  };
  const first = limit();
  const parts = encoded instanceof Uint8Array ? [encoded] : encoded;
  const head = parts[0];
  if (head === undefined || head.byteLength < HEADER_BYTES) throw new InvalidFrameError('an encoded frame starts with its header');
  const h = readHeader(head);
  const laneFlag = lane === 'ring' ? FLAG_RING_LANE : 0;
  const total = messageBytes(encoded);
  if (total <= first) {
    // The frame is ours (just encoded), so set the lane bit in place instead of copying.
    writeHeader(head, { ...h, flags: laneFlag });
    yield encoded;
    return;
  }
  // The payload as a list of views (the first part less the header), read chunk by chunk.
  const payload = [head.subarray(HEADER_BYTES), ...parts.slice(1)];
  const payloadBytes = total - HEADER_BYTES;
  let part = 0;
  let inPart = 0;
  // Chunk sizes may differ within a frame: the assembler only counts the bytes.
  for (let at = 0, step = first - HEADER_BYTES; at < payloadBytes; at += step, step = limit() - HEADER_BYTES) {
    const n = Math.min(step, payloadBytes - at);
    const msg = new Uint8Array(HEADER_BYTES + n);
    const more = at + step < payloadBytes ? FLAG_MORE : 0;
    const cont = at > 0 ? FLAG_CONT : 0;
    writeHeader(msg, { ...h, flags: laneFlag | more | cont });
    for (let filled = 0; filled < n;) {
      const p = payload[part] as Uint8Array;
      const take = Math.min(n - filled, p.byteLength - inPart);
      msg.set(p.subarray(inPart, inPart + take), HEADER_BYTES + filled);
      filled += take;
      inPart += take;
      if (inPart === p.byteLength) {
        part++;
        inPart = 0;
      }
    }
    yield msg;
  }
}

/** The lane a received message travelled on (its header's RING bit); call only after it decoded. */
export function messageLane(message: Uint8Array): Lane {
  return ((message[4] ?? 0) & FLAG_RING_LANE) !== 0 ? 'ring' : 'bulk';
}

interface Partial {
  header: FrameHeader;
  /**
   * The whole frame, allocated at its first chunk when its header's payload length is at most
   * PREALLOCATE_MAX_BYTES (pieces, activations) and filled as chunks arrive, each copied once
   * into place. Larger frames collect their chunks in `parts` instead, so one cheap first chunk
   * cannot make the receiver allocate `maxFrameBytes` at once.
   */
  whole: Uint8Array | undefined;
  parts: Uint8Array[];
  received: number;
}

/** See `Partial.whole`: 8 MiB holds a 4 MiB piece or a long prefill's hidden states. */
const PREALLOCATE_MAX_BYTES = 8 * 1024 * 1024;

/**
 * Turns a stream of received messages back into frames. `push` returns the completed frame, or
 * `undefined` while a chunked frame is still incomplete. Throws only `WireError` subclasses; after
 * a throw the offending lane is reset.
 */
export class FrameAssembler {
  private readonly partial: { ring?: Partial; bulk?: Partial } = {};
  private readonly maxFrameBytes: number;
  private readonly maxReassemblyBytes: number;
  private lastBytes = 0;

  constructor(opts: { maxFrameBytes?: number; maxReassemblyBytes?: number } = {}) {
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.maxReassemblyBytes = opts.maxReassemblyBytes ?? DEFAULT_MAX_REASSEMBLY_BYTES;
  }

  /** Payload bytes of the frame the last `push` completed (what holding it costs). */
  get lastFrameBytes(): number {
    return this.lastBytes;
  }

  /** Bytes currently held for incomplete frames (for stats and tests of the memory bound). */
  get pendingBytes(): number {
    return (this.partial.ring?.received ?? 0) + (this.partial.bulk?.received ?? 0);
  }

  push(message: Uint8Array): Frame | undefined {
    const h = readHeader(message);
    const lane: Lane = (h.flags & FLAG_RING_LANE) !== 0 ? 'ring' : 'bulk';
    try {
      return this.accept(lane, h, message);
    } catch (err) {
      delete this.partial[lane];
      throw err;
    }
  }

  private accept(lane: Lane, h: FrameHeader, message: Uint8Array): Frame | undefined {
    const more = (h.flags & FLAG_MORE) !== 0;
    const cont = (h.flags & FLAG_CONT) !== 0;
    const body = message.subarray(HEADER_BYTES);
    // The claimed length, checked before anything is buffered for it.
    checkPayloadLength(h.type, h.payloadLength, this.maxFrameBytes);
    const open = this.partial[lane];
    if (!cont) {
      if (open)
        throw new ChunkSequenceError(
          `${lane} lane: new ${h.type} started before ${open.header.type} finished (${open.received}/${open.header.payloadLength} bytes)`,
        );
      if (!more) {
        const frame = decodeFrame(message, this.maxFrameBytes);
        this.lastBytes = h.payloadLength;
        return frame;
      }
      if (body.byteLength === 0 || body.byteLength >= h.payloadLength) {
        throw new ChunkSequenceError(`${h.type}: first chunk of ${body.byteLength} bytes for a ${h.payloadLength}-byte payload`);
      }
      this.checkBudget(h, body.byteLength);
      let whole: Uint8Array | undefined;
      if (h.payloadLength <= PREALLOCATE_MAX_BYTES) {
        whole = new Uint8Array(HEADER_BYTES + h.payloadLength);
        whole.set(body, HEADER_BYTES);
      }
      this.partial[lane] = { header: h, whole, parts: whole ? [] : [body.slice()], received: body.byteLength };
      return undefined;
    }
    if (!open) throw new ChunkSequenceError(`${lane} lane: continuation of ${h.type} with no frame in progress`);
    const o = open.header;
    if (o.type !== h.type || o.requestId !== h.requestId || o.payloadLength !== h.payloadLength) {
      throw new ChunkSequenceError(`${lane} lane: chunk of ${h.type}#${h.requestId} interleaved into ${o.type}#${o.requestId}`);
    }
    const received = open.received + body.byteLength;
    if (body.byteLength === 0 || received > o.payloadLength || (more && received === o.payloadLength)) {
      throw new ChunkSequenceError(`${h.type}: chunk brings ${received} of ${o.payloadLength} bytes (more=${more})`);
    }
    this.checkBudget(h, body.byteLength);
    if (open.whole) open.whole.set(body, HEADER_BYTES + open.received);
    else open.parts.push(body.slice());
    open.received = received;
    if (more) return undefined;
    if (received !== o.payloadLength) throw new ChunkSequenceError(`${h.type}: last chunk leaves ${received} of ${o.payloadLength} bytes`);
    delete this.partial[lane];
    const whole = open.whole ?? new Uint8Array(HEADER_BYTES + received);
    writeHeader(whole, { ...o, flags: 0 });
    if (!open.whole) {
      let at = HEADER_BYTES;
      for (const p of open.parts) {
        whole.set(p, at);
        at += p.byteLength;
      }
    }
    const frame = decodeFrame(whole, this.maxFrameBytes);
    this.lastBytes = received;
    return frame;
  }

  private checkBudget(h: FrameHeader, adding: number): void {
    if (this.pendingBytes + adding > this.maxReassemblyBytes) {
      throw new FrameTooLargeError(`${h.type}: ${this.pendingBytes + adding} bytes of partial frames held, at most ${this.maxReassemblyBytes}`);
    }
  }
}
