// Payloads of the control frames: PING carries the sender's clock, PONG echoes it beside its own
// (float64 milliseconds; only finite values are accepted); CREDIT grants a u32 byte count > 0.
import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { InvalidFrameError } from './errors.ts';
import type { FrameOf } from './frame-types.ts';

function finite(v: number, field: string): number {
  if (!Number.isFinite(v)) throw new InvalidFrameError(`${field} must be finite, got ${v}`);
  return v;
}

export function encodePing(w: ByteWriter, f: FrameOf<'PING'>): void {
  w.f64(finite(f.sentAt, 'PING sentAt'), 'sentAt');
}

export function decodePing(r: ByteReader, requestId: number): FrameOf<'PING'> {
  return { type: 'PING', requestId, sentAt: finite(r.f64('sentAt'), 'PING sentAt') };
}

export function encodePong(w: ByteWriter, f: FrameOf<'PONG'>): void {
  w.f64(finite(f.pingSentAt, 'PONG pingSentAt'), 'pingSentAt').f64(finite(f.sentAt, 'PONG sentAt'), 'sentAt');
}

export function decodePong(r: ByteReader, requestId: number): FrameOf<'PONG'> {
  return { type: 'PONG', requestId, pingSentAt: finite(r.f64('pingSentAt'), 'PONG pingSentAt'), sentAt: finite(r.f64('sentAt'), 'PONG sentAt') };
}

export function encodeCredit(w: ByteWriter, f: FrameOf<'CREDIT'>): void {
  if (f.bytes === 0) throw new InvalidFrameError('CREDIT: bytes must be > 0');
  w.u32(f.bytes, 'bytes');
}

export function decodeCredit(r: ByteReader, requestId: number): FrameOf<'CREDIT'> {
  const bytes = r.u32('bytes');
  if (bytes === 0) throw new InvalidFrameError('CREDIT: bytes must be > 0');
  return { type: 'CREDIT', requestId, bytes };
}
