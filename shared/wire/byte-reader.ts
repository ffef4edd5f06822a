import { FrameTruncatedError, InvalidFrameError } from './errors.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A cursor over untrusted bytes (big-endian integers). Every read checks the remaining length first
 * and throws `FrameTruncatedError`, so a decoder never reads past the end or sees a RangeError.
 */
export class ByteReader {
  private readonly view: DataView;
  private pos = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly what: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.byteLength - this.pos;
  }

  private need(n: number, field: string): number {
    if (this.remaining < n) {
      throw new FrameTruncatedError(`${this.what}: ${field} needs ${n} bytes at offset ${this.pos}, only ${this.remaining} left`);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(field: string): number {
    return this.view.getUint8(this.need(1, field));
  }

  u16(field: string): number {
    return this.view.getUint16(this.need(2, field));
  }

  u32(field: string): number {
    return this.view.getUint32(this.need(4, field));
  }

  f64(field: string): number {
    return this.view.getFloat64(this.need(8, field));
  }

  /** A copy, so the result owns an aligned buffer (a Float32Array view over it is always legal). */
  bytesCopy(n: number, field: string): Uint8Array {
    const at = this.need(n, field);
    return this.bytes.slice(at, at + n);
  }

  rest(field: string): Uint8Array {
    return this.bytesCopy(this.remaining, field);
  }

  /**
   * The remaining bytes as a view, no copy: for byte payloads (pieces) that need no alignment.
   * Received messages are the receiver's own (every transport hands over a fresh buffer), so a
   * view cannot change under it; a 4 MiB piece is not copied once more on its way to the store.
   */
  restView(field: string): Uint8Array {
    const at = this.need(this.remaining, field);
    return this.bytes.subarray(at);
  }

  /** UTF-8 string with a u8 (short ids) or u16 (messages) length prefix. */
  string(field: string, prefix: 'u8' | 'u16'): string {
    const n = prefix === 'u8' ? this.u8(`${field} length`) : this.u16(`${field} length`);
    const at = this.need(n, field);
    try {
      return utf8.decode(this.bytes.subarray(at, at + n));
    } catch (cause) {
      throw new InvalidFrameError(`${this.what}: ${field} is not valid UTF-8`, { cause });
    }
  }

  /** Rejects trailing garbage: a frame's payload must be consumed exactly. */
  end(): void {
    if (this.remaining !== 0) throw new InvalidFrameError(`${this.what}: ${this.remaining} unexpected trailing bytes`);
  }
}
