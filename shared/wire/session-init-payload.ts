// Payload of SESSION_INIT: session (u8 string), replyTo peer id (u8 string), maxTokens u32,
// temperature f64, topP f64, topK u32, seed f64 (a safe integer), stop count u16, stop ids u32 each,
// then an optional flags u8 (bit 0: audited session), written only when a flag is set: a frame
// without flags is byte for byte the format before it.
import { asSessionId } from '../ids.ts';
import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { InvalidFrameError } from './errors.ts';
import type { FrameOf } from './frame-types.ts';

/** More stop ids than any tokenizer defines end-of-text ids. */
const MAX_STOP_IDS = 256;

function check(f: Omit<FrameOf<'SESSION_INIT'>, 'type' | 'requestId'>): void {
  if (f.session.length === 0) throw new InvalidFrameError('SESSION_INIT: session id is empty');
  if (f.replyTo.length === 0) throw new InvalidFrameError('SESSION_INIT: replyTo is empty');
  if (f.maxTokens < 1) throw new InvalidFrameError(`SESSION_INIT: maxTokens ${f.maxTokens} must be ≥ 1`);
  if (!Number.isFinite(f.temperature) || f.temperature < 0) throw new InvalidFrameError(`SESSION_INIT: temperature ${f.temperature} must be finite and ≥ 0`);
  if (!(f.topP > 0 && f.topP <= 1)) throw new InvalidFrameError(`SESSION_INIT: topP ${f.topP} must be in (0, 1]`);
  if (!Number.isSafeInteger(f.seed)) throw new InvalidFrameError(`SESSION_INIT: seed ${f.seed} must be a safe integer`);
  if (f.stop.length > MAX_STOP_IDS) throw new InvalidFrameError(`SESSION_INIT: ${f.stop.length} stop ids, at most ${MAX_STOP_IDS}`);
}

export function encodeSessionInit(w: ByteWriter, f: FrameOf<'SESSION_INIT'>): void {
  check(f);
  w.string(f.session, 'u8', 'session').string(f.replyTo, 'u8', 'replyTo').u32(f.maxTokens, 'maxTokens');
  w.f64(f.temperature, 'temperature').f64(f.topP, 'topP').u32(f.topK, 'topK').f64(f.seed, 'seed');
  w.u16(f.stop.length, 'stop count');
  for (const id of f.stop) w.u32(id, 'stop id');
  if (f.audit === true) w.u8(FLAG_AUDIT, 'flags');
}

const FLAG_AUDIT = 1;

export function decodeSessionInit(r: ByteReader, requestId: number): FrameOf<'SESSION_INIT'> {
  const session = asSessionId(r.string('session', 'u8'));
  const replyTo = r.string('replyTo', 'u8');
  const maxTokens = r.u32('maxTokens');
  const temperature = r.f64('temperature');
  const topP = r.f64('topP');
  const topK = r.u32('topK');
  const seed = r.f64('seed');
  const count = r.u16('stop count');
  if (count > MAX_STOP_IDS) throw new InvalidFrameError(`SESSION_INIT: ${count} stop ids, at most ${MAX_STOP_IDS}`);
  const stop: number[] = [];
  for (let i = 0; i < count; i++) stop.push(r.u32('stop id'));
  const flags = r.remaining > 0 ? r.u8('flags') : 0;
  if ((flags & ~FLAG_AUDIT) !== 0) throw new InvalidFrameError(`SESSION_INIT: unknown flags ${flags}`);
  const frame: FrameOf<'SESSION_INIT'> = {
    type: 'SESSION_INIT',
    requestId,
    session,
    replyTo,
    maxTokens,
    stop,
    temperature,
    topP,
    topK,
    seed,
    ...((flags & FLAG_AUDIT) !== 0 ? { audit: true } : {}),
  };
  check(frame);
  return frame;
}
