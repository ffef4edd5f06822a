// Payloads of the ring frames (ACTIVATION, TOKEN, SESSION_END, ERROR). Session ids are u8-length
// UTF-8; tensor bytes are little-endian elements, exactly product(shape) × element size long.
import { asSessionId, type SessionId } from '../ids.ts';
import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { InvalidFrameError } from './errors.ts';
import { DTYPES, SESSION_END_REASONS, type FrameOf, type TensorDtype } from './frame-types.ts';

/** Tensors of rank 1..8; higher ranks never occur between ring stages. */
const MAX_RANK = 8;

function readSession(r: ByteReader, what: string): SessionId {
  const s = r.string('session', 'u8');
  if (s.length === 0) throw new InvalidFrameError(`${what}: session id is empty`);
  return asSessionId(s);
}

function writeSession(w: ByteWriter, s: string, what: string): void {
  if (s.length === 0) throw new InvalidFrameError(`${what}: session id is empty`);
  w.string(s, 'u8', 'session');
}

/** Element count × size, or an error if the shape is invalid or disagrees with `byteLength`. */
function checkShape(dtype: TensorDtype, shape: readonly number[], byteLength: number): void {
  if (shape.length < 1 || shape.length > MAX_RANK) throw new InvalidFrameError(`ACTIVATION: rank ${shape.length} outside 1..${MAX_RANK}`);
  let bytes = DTYPES[dtype].bytes;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 1 || d > 0xffffffff) throw new InvalidFrameError(`ACTIVATION: dimension ${d} must be an integer ≥ 1`);
    bytes *= d;
    // Stop before the product leaves exact integer range; it can no longer match anyway.
    if (bytes > byteLength) break;
  }
  if (bytes !== byteLength) {
    throw new InvalidFrameError(`ACTIVATION: shape [${shape.join(', ')}] × ${dtype} needs ${bytes} bytes, got ${byteLength}`);
  }
}

export function encodeActivation(w: ByteWriter, f: FrameOf<'ACTIVATION'>): void {
  const { dtype, shape, data } = f.tensor;
  if (!(dtype in DTYPES)) throw new InvalidFrameError(`ACTIVATION: unknown dtype ${String(dtype)}`);
  checkShape(dtype, shape, data.byteLength);
  writeSession(w, f.session, 'ACTIVATION');
  w.u32(f.step, 'step').u32(f.epoch, 'epoch').u8(DTYPES[dtype].code, 'dtype').u8(shape.length, 'rank');
  for (const d of shape) w.u32(d, 'dimension');
  w.bytes(data);
}

export function decodeActivation(r: ByteReader, requestId: number): FrameOf<'ACTIVATION'> {
  const session = readSession(r, 'ACTIVATION');
  const step = r.u32('step');
  const epoch = r.u32('epoch');
  const code = r.u8('dtype');
  const dtype = (Object.keys(DTYPES) as TensorDtype[]).find((k) => DTYPES[k].code === code);
  if (dtype === undefined) throw new InvalidFrameError(`ACTIVATION: unknown dtype code ${code}`);
  const rank = r.u8('rank');
  if (rank < 1 || rank > MAX_RANK) throw new InvalidFrameError(`ACTIVATION: rank ${rank} outside 1..${MAX_RANK}`);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(r.u32('dimension'));
  const data = r.rest('tensor data');
  checkShape(dtype, shape, data.byteLength);
  return { type: 'ACTIVATION', requestId, session, step, epoch, tensor: { dtype, shape, data } };
}

export function encodeToken(w: ByteWriter, f: FrameOf<'TOKEN'>): void {
  if (Number.isNaN(f.logprob) || f.logprob > 0) throw new InvalidFrameError(`TOKEN: logprob must be ≤ 0, got ${f.logprob}`);
  writeSession(w, f.session, 'TOKEN');
  w.u32(f.step, 'step').u32(f.tokenId, 'tokenId').f64(f.logprob, 'logprob');
}

export function decodeToken(r: ByteReader, requestId: number): FrameOf<'TOKEN'> {
  const session = readSession(r, 'TOKEN');
  const step = r.u32('step');
  const tokenId = r.u32('tokenId');
  const logprob = r.f64('logprob');
  if (Number.isNaN(logprob) || logprob > 0) throw new InvalidFrameError(`TOKEN: logprob must be ≤ 0, got ${logprob}`);
  return { type: 'TOKEN', requestId, session, step, tokenId, logprob };
}

export function encodeSessionEnd(w: ByteWriter, f: FrameOf<'SESSION_END'>): void {
  writeSession(w, f.session, 'SESSION_END');
  w.u8(SESSION_END_REASONS.indexOf(f.reason), 'reason');
}

export function decodeSessionEnd(r: ByteReader, requestId: number): FrameOf<'SESSION_END'> {
  const session = readSession(r, 'SESSION_END');
  const code = r.u8('reason');
  const reason = SESSION_END_REASONS[code];
  if (reason === undefined) throw new InvalidFrameError(`SESSION_END: unknown reason ${code}`);
  return { type: 'SESSION_END', requestId, session, reason };
}
