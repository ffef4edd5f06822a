import { FrameTooLargeError, InvalidFrameError } from './errors.ts';

const utf8 = new TextEncoder();

/** Appends big-endian fields; `finish()` returns exactly the bytes written. Encoding validates ranges too. */
export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  constructor(
    private readonly what: string,
    initial = 64,
  ) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }

  /**
   * Reserves n bytes and returns their offset. Call it before reading `view`/`buf`: it may replace
   * them (growth), and `this.view.setX(this.room(n), …)` would write into the old, smaller buffer.
   */
  private room(n: number): number {
    if (this.pos + n > this.buf.byteLength) {
      const next = new Uint8Array(Math.max(this.buf.byteLength * 2, this.pos + n));
      next.set(this.buf.subarray(0, this.pos));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  private checkInt(v: number, max: number, field: string): void {
    if (!Number.isInteger(v) || v < 0 || v > max) {
      throw new InvalidFrameError(`${this.what}: ${field} must be an integer in 0..${max}, got ${v}`);
    }
  }

  u8(v: number, field: string): this {
    this.checkInt(v, 0xff, field);
    const at = this.room(1);
    this.view.setUint8(at, v);
    return this;
  }

  u16(v: number, field: string): this {
    this.checkInt(v, 0xffff, field);
    const at = this.room(2);
    this.view.setUint16(at, v);
    return this;
  }

  u32(v: number, field: string): this {
    this.checkInt(v, 0xffffffff, field);
    const at = this.room(4);
    this.view.setUint32(at, v);
    return this;
  }

  f64(v: number, field: string): this {
    if (typeof v !== 'number') throw new InvalidFrameError(`${this.what}: ${field} must be a number`);
    const at = this.room(8);
    this.view.setFloat64(at, v);
    return this;
  }

  bytes(b: Uint8Array): this {
    const at = this.room(b.byteLength);
    this.buf.set(b, at);
    return this;
  }

  string(s: string, prefix: 'u8' | 'u16', field: string): this {
    const b = utf8.encode(s);
    const max = prefix === 'u8' ? 0xff : 0xffff;
    if (b.byteLength > max) throw new FrameTooLargeError(`${this.what}: ${field} is ${b.byteLength} UTF-8 bytes, at most ${max}`);
    return (prefix === 'u8' ? this.u8(b.byteLength, `${field} length`) : this.u16(b.byteLength, `${field} length`)).bytes(b);
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}
