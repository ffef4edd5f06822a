// Payloads of the control frames: PING carries the sender's clock, PONG echoes it beside its own
// (float64 milliseconds; only finite values are accepted).
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
