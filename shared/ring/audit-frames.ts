// An `audit` ring message on the wire (docs/ring.md, "Verified compute"): two ACTIVATION frames
// whose session ids carry a suffix naming the stage and the part, `<session>#<stage>i` (what the
// stage received: an int32 tensor of token ids or its hidden states) then `<session>#<stage>o`
// (what it sent: hidden states, or an int32 tensor [1] holding the token it picked). No new frame
// type: peers that predate audits never receive them (only audited sessions' requesters do).
import { asSessionId, type SessionId } from '../ids.ts';
import type { Frame, TensorDtype, WireTensor } from '../wire/frame-types.ts';
import { decodeHalf, encodeHalf } from './fp16.ts';
import { bytesOf } from '../util/typed-bytes.ts';
import type { AuditInput, AuditOutput, RingAudit } from './messages.ts';

const AUDIT_SUFFIX = /^(.+)#(\d{1,3})([io])$/;

function hiddenTensor(data: Float32Array, seqLen: number, dtype: 'fp32' | 'fp16'): WireTensor {
  const shape = [seqLen, data.length / seqLen];
  return dtype === 'fp16' ? { dtype: 'fp16' as TensorDtype, shape, data: encodeHalf(data) } : { dtype: 'fp32' as TensorDtype, shape, data: bytesOf(data) };
}

/** The two frames of an audit, input first. Hidden states use the link's dtype, like activations. */
export function auditFrames(m: RingAudit, dtype: 'fp32' | 'fp16'): Frame[] {
  const frame = (part: 'i' | 'o', tensor: WireTensor): Frame => ({
    type: 'ACTIVATION',
    requestId: 0,
    session: asSessionId(`${m.session}#${m.stage}${part}`),
    step: m.step,
    epoch: m.epoch,
    tensor,
  });
  const input =
    m.input.kind === 'tokens'
      ? { dtype: 'int32' as TensorDtype, shape: [m.input.ids.length], data: bytesOf(m.input.ids) }
      : hiddenTensor(m.input.data, m.input.seqLen, dtype);
  const output =
    m.output.kind === 'token'
      ? { dtype: 'int32' as TensorDtype, shape: [1], data: bytesOf(Int32Array.of(m.output.tokenId)) }
      : hiddenTensor(m.output.data, m.output.seqLen, dtype);
  return [frame('i', input), frame('o', output)];
}

/** An audit part's session, stage and part, or null for an ordinary ACTIVATION. */
export function auditPart(session: string): { readonly session: SessionId; readonly stage: number; readonly part: 'i' | 'o' } | null {
  const m = AUDIT_SUFFIX.exec(session);
  if (m === null) return null;
  return { session: asSessionId(m[1] as string), stage: Number(m[2]), part: m[3] as 'i' | 'o' };
}

function aligned(data: Uint8Array): Uint8Array {
  return data.byteOffset % 4 === 0 ? data : data.slice();
}

function tensorInput(t: WireTensor): AuditInput | string {
  if (t.dtype === 'int32') {
    if (t.shape.length !== 1) return `audit input ids of rank ${t.shape.length}`;
    const b = aligned(t.data);
    return { kind: 'tokens', ids: new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4) };
  }
  if (t.shape.length !== 2) return `audit hidden states of rank ${t.shape.length}`;
  const b = aligned(t.data);
  const data = t.dtype === 'fp16' ? decodeHalf(t.data) : new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  return { kind: 'hidden', data, seqLen: t.shape[0] as number };
}

function tensorOutput(t: WireTensor): AuditOutput | string {
  const r = tensorInput(t);
  if (typeof r === 'string') return r;
  if (r.kind === 'hidden') return r;
  if (r.ids.length !== 1) return `audit token output of ${r.ids.length} ids`;
  return { kind: 'token', tokenId: r.ids[0] as number };
}

/**
 * Pairs one connection's audit parts into messages: an input part waits (at most `maxPending`,
 * oldest dropped) for the output part of the same session, stage and step.
 */
export class AuditAssembler {
  private readonly pending = new Map<string, { readonly step: number; readonly epoch: number; readonly input: AuditInput }>();

  constructor(private readonly maxPending = 256) {}

  /** The message once both parts are in, null while waiting, a string saying why a part is refused. */
  take(f: Extract<Frame, { type: 'ACTIVATION' }>, part: NonNullable<ReturnType<typeof auditPart>>): RingAudit | string | null {
    const key = `${part.session}#${part.stage}`;
    if (part.part === 'i') {
      const input = tensorInput(f.tensor);
      if (typeof input === 'string') return input;
      if (this.pending.size >= this.maxPending) this.pending.delete(this.pending.keys().next().value as string);
      this.pending.set(key, { step: f.step, epoch: f.epoch, input });
      return null;
    }
    const held = this.pending.get(key);
    this.pending.delete(key);
    if (held === undefined || held.step !== f.step || held.epoch !== f.epoch) return `${part.session}: audit output of step ${f.step} without its input`;
    const output = tensorOutput(f.tensor);
    if (typeof output === 'string') return output;
    return { type: 'audit', session: part.session, epoch: f.epoch, step: f.step, stage: part.stage, input: held.input, output };
  }
}
