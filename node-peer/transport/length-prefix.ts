// Message framing of a direct TCP link (tcp-data-peer.ts): each message is a 4-byte big-endian
// length and that many bytes. TCP delivers a byte stream in arbitrary slices; the decoder puts
// the messages back together and refuses lengths a peer has no business sending.

import { TransportError } from '../../shared/transport/errors.ts';

/** Bytes of the length prefix. */
export const LENGTH_PREFIX_BYTES = 4;

/** A message longer than the link allows: the stream is not a ringmesh link (or is hostile). */
export class MessageTooLargeError extends TransportError {
  override readonly code = 'ERR_MESSAGE_TOO_LARGE';
  constructor(
    readonly length: number,
    readonly maxBytes: number,
  ) {
    super(`direct link message of ${length} bytes, expected at most ${maxBytes}`);
  }
}

/** The 4-byte prefix for a message of `length` bytes. */
export function lengthPrefix(length: number): Uint8Array {
  const p = new Uint8Array(LENGTH_PREFIX_BYTES);
  new DataView(p.buffer).setUint32(0, length);
  return p;
}

/**
 * Reassembles messages from stream slices. `push` returns the messages the slice completed, in
 * order. A message that lies inside one slice is a view of it; one that spans slices gets a
 * buffer of its own, allocated once its prefix is in (`allocate`; Node passes an uninitialised
 * one) and filled as the slices come, so each byte is copied at most once. Throws
 * `MessageTooLargeError` as soon as a prefix announces more than `maxBytes`.
 */
export class LengthPrefixDecoder {
  private readonly prefix = new Uint8Array(LENGTH_PREFIX_BYTES);
  private prefixHave = 0;
  private message: Uint8Array | undefined;
  private messageHave = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly allocate: (n: number) => Uint8Array = (n) => new Uint8Array(n),
  ) {}

  push(slice: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let at = 0;
    while (at < slice.byteLength) {
      if (this.message !== undefined) {
        // Filling a message that spans slices.
        const n = Math.min(this.message.byteLength - this.messageHave, slice.byteLength - at);
        this.message.set(slice.subarray(at, at + n), this.messageHave);
        this.messageHave += n;
        at += n;
        if (this.messageHave === this.message.byteLength) {
          out.push(this.message);
          this.message = undefined;
        }
        continue;
      }
      let length: number;
      if (this.prefixHave === 0 && slice.byteLength - at >= LENGTH_PREFIX_BYTES) {
        length = new DataView(slice.buffer, slice.byteOffset + at, LENGTH_PREFIX_BYTES).getUint32(0);
        at += LENGTH_PREFIX_BYTES;
      } else {
        // A prefix split across slices.
        const n = Math.min(LENGTH_PREFIX_BYTES - this.prefixHave, slice.byteLength - at);
        this.prefix.set(slice.subarray(at, at + n), this.prefixHave);
        this.prefixHave += n;
        at += n;
        if (this.prefixHave < LENGTH_PREFIX_BYTES) break;
        this.prefixHave = 0;
        length = new DataView(this.prefix.buffer).getUint32(0);
      }
      if (length > this.maxBytes) throw new MessageTooLargeError(length, this.maxBytes);
      if (slice.byteLength - at >= length) {
        out.push(slice.subarray(at, at + length));
        at += length;
      } else {
        this.message = this.allocate(length);
        this.messageHave = 0;
      }
    }
    return out;
  }

  /** Bytes held of a message (or prefix) not yet complete. */
  get pendingBytes(): number {
    return this.prefixHave + (this.message === undefined ? 0 : LENGTH_PREFIX_BYTES + this.messageHave);
  }
}
