// Ring messages ↔ wire frames (docs/ring.md "Frames"). A prefill is an ACTIVATION of int32 token
// ids; `init` travels as a SESSION_INIT frame right before the session's first ACTIVATION; a stage
// failure is SESSION_END(error). TOKEN frames carry no epoch: the receiver knows it from the
// session (wire session ids are unique per submission), see `epochOf`.
import { asPeerId, type SessionId } from '../ids.ts';
import type { Frame, FrameOf, SessionEndReason, TensorDtype } from '../wire/frame-types.ts';
import { AuditAssembler, auditFrames, auditPart } from './audit-frames.ts';
import { bytesOf } from '../util/typed-bytes.ts';
import { decodeHalf, encodeHalf } from './fp16.ts';
import type { RingEnd, RingMessage, SessionInit } from './messages.ts';

/**
 * 4-byte elements over received bytes: a view when they are aligned (the wire decoder hands each
 * tensor its own buffer, so nothing else writes there), a copy only when they are not.
 */
function viewAs<T extends Float32Array | Int32Array>(make: (buffer: ArrayBufferLike, offset: number, length: number) => T, data: Uint8Array): T {
  const bytes = data.byteOffset % 4 === 0 ? data : data.slice();
  return make(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}
const asFloat32 = (data: Uint8Array): Float32Array => viewAs((b, o, n) => new Float32Array(b, o, n), data);
const asInt32 = (data: Uint8Array): Int32Array => viewAs((b, o, n) => new Int32Array(b, o, n), data);

const END_TO_WIRE: Record<RingEnd['reason'], SessionEndReason> = { done: 'done', cancelled: 'cancelled', evicted: 'evicted', failed: 'error', busy: 'busy' };

function initFrame(session: SessionId, init: SessionInit): FrameOf<'SESSION_INIT'> {
  const { temperature, topP, topK, seed } = init.sampling;
  return {
    type: 'SESSION_INIT',
    requestId: 0,
    session,
    replyTo: init.replyTo,
    maxTokens: init.maxTokens,
    stop: [...init.stop],
    temperature,
    topP,
    topK,
    seed,
    ...(init.audit === true ? { audit: true } : {}),
  };
}

/** The frames of one ring message, in sending order. `dtype` applies to hidden states. */
export function ringMessageFrames(m: RingMessage, dtype: 'fp32' | 'fp16' = 'fp32'): Frame[] {
  switch (m.type) {
    case 'prefill':
      return [
        initFrame(m.session, m.init),
        {
          type: 'ACTIVATION',
          requestId: 0,
          session: m.session,
          step: m.step,
          epoch: m.epoch,
          tensor: { dtype: 'int32', shape: [m.tokens.length], data: bytesOf(Int32Array.from(m.tokens)) },
        },
      ];
    case 'activation': {
      const hiddenSize = m.hidden.length / m.seqLen;
      const tensor =
        dtype === 'fp16'
          ? { dtype: 'fp16' as TensorDtype, shape: [m.seqLen, hiddenSize], data: encodeHalf(m.hidden) }
          : { dtype: 'fp32' as TensorDtype, shape: [m.seqLen, hiddenSize], data: bytesOf(m.hidden) };
      const act: Frame = { type: 'ACTIVATION', requestId: 0, session: m.session, step: m.step, epoch: m.epoch, tensor };
      return m.init === undefined ? [act] : [initFrame(m.session, m.init), act];
    }
    case 'token':
      return [{ type: 'TOKEN', requestId: 0, session: m.session, step: m.step, tokenId: m.tokenId, logprob: m.logprob }];
    case 'end':
      return [{ type: 'SESSION_END', requestId: 0, session: m.session, reason: END_TO_WIRE[m.reason] }];
    case 'failure':
      return [{ type: 'SESSION_END', requestId: 0, session: m.session, reason: 'error' }];
    case 'audit':
      return auditFrames(m, dtype);
  }
}

/** Why an incoming ring frame was not turned into a message. */
export interface RingFrameDrop {
  readonly reason: 'no-init' | 'bad-shape' | 'bad-audit';
  readonly detail: string;
}

/**
 * Turns one connection's incoming ring frames back into messages. Holds the SESSION_INIT of a
 * session until its ACTIVATION (at most `maxPendingInits`, oldest dropped).
 */
export class RingFrameDecoder {
  private readonly pendingInit = new Map<SessionId, SessionInit>();
  private readonly audits = new AuditAssembler();

  constructor(
    /** Epoch of a session this peer knows (for TOKEN frames); -1 when unknown (then it is dropped as stale). */
    private readonly epochOf: (session: SessionId) => number,
    private readonly maxPendingInits = 1024,
  ) {}

  /** The message, null for a frame that is not a ring frame, or a drop with its reason. */
  decode(f: Frame): RingMessage | RingFrameDrop | null {
    switch (f.type) {
      case 'SESSION_INIT':
        if (this.pendingInit.size >= this.maxPendingInits) this.pendingInit.delete(this.pendingInit.keys().next().value as SessionId);
        this.pendingInit.set(f.session, {
          replyTo: asPeerId(f.replyTo),
          maxTokens: f.maxTokens,
          stop: f.stop,
          sampling: { temperature: f.temperature, topP: f.topP, topK: f.topK, seed: f.seed },
          ...(f.audit === true ? { audit: true } : {}),
        });
        return null;
      case 'ACTIVATION': {
        const part = auditPart(f.session);
        if (part === null) return this.activation(f);
        const audit = this.audits.take(f, part);
        return typeof audit === 'string' ? { reason: 'bad-audit', detail: audit } : audit;
      }
      case 'TOKEN':
        return { type: 'token', session: f.session, epoch: this.epochOf(f.session), step: f.step, tokenId: f.tokenId, logprob: f.logprob };
      case 'SESSION_END':
        if (f.reason === 'error') return { type: 'failure', session: f.session, epoch: this.epochOf(f.session), message: 'a stage failed running the session' };
        return { type: 'end', session: f.session, reason: f.reason };
      default:
        return null;
    }
  }

  private activation(f: FrameOf<'ACTIVATION'>): RingMessage | RingFrameDrop {
    const init = this.pendingInit.get(f.session);
    this.pendingInit.delete(f.session);
    const { dtype, shape, data } = f.tensor;
    if (dtype === 'int32') {
      if (init === undefined) return { reason: 'no-init', detail: `${f.session}: prefill without SESSION_INIT` };
      if (shape.length !== 1) return { reason: 'bad-shape', detail: `${f.session}: prefill tokens of rank ${shape.length}, expected 1` };
      const tokens = Array.from(asInt32(data));
      return { type: 'prefill', session: f.session, epoch: f.epoch, step: f.step, tokens, init };
    }
    if (shape.length !== 2) return { reason: 'bad-shape', detail: `${f.session}: hidden states of rank ${shape.length}, expected [seqLen, hidden]` };
    const hidden = dtype === 'fp16' ? decodeHalf(data) : asFloat32(data);
    return {
      type: 'activation',
      session: f.session,
      epoch: f.epoch,
      step: f.step,
      seqLen: shape[0] as number,
      hidden,
      ...(init === undefined ? {} : { init }),
    };
  }
}

/** Whether a decode result is a message (not a drop). */
export function isRingMessage(r: RingMessage | RingFrameDrop): r is RingMessage {
  return 'type' in r;
}
