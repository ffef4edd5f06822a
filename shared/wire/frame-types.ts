import type { SessionId } from '../ids.ts';

/** Type byte of each frame (header offset 3). Values are part of the wire format: never renumber. */
export const FRAME_TYPES = {
  BITFIELD: 1,
  HAVE: 2,
  REQUEST: 3,
  PIECE: 4,
  REJECT: 5,
  CANCEL: 6,
  ACTIVATION: 16,
  TOKEN: 17,
  SESSION_END: 18,
  // 19 was ERROR, a peer-level error frame nothing sent: retired, never reuse.
  SESSION_INIT: 20,
  PING: 32,
  PONG: 33,
  CREDIT: 34,
} as const;

export type FrameTypeName = keyof typeof FRAME_TYPES;

/** Tensor element types an ACTIVATION may carry, with their wire byte and element size. */
export const DTYPES = { fp32: { code: 0, bytes: 4 }, fp16: { code: 1, bytes: 2 }, int32: { code: 2, bytes: 4 } } as const;
export type TensorDtype = keyof typeof DTYPES;

/** Why a REQUEST was refused. */
export const REJECT_REASONS = ['missing', 'busy', 'invalid'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** Why a ring session ended. */
export const SESSION_END_REASONS = ['done', 'cancelled', 'error', 'evicted', 'busy'] as const;
export type SessionEndReason = (typeof SESSION_END_REASONS)[number];

/** Fields every frame has: the header's request id (0 when the frame answers nothing). */
interface FrameBase {
  /** Unsigned 32-bit; a REQUEST's id is echoed by its PIECE/REJECT, a PING's by its PONG. */
  requestId: number;
}

/** Which pieces of one unit the sender holds (bit i = piece i, most significant bit first). */
export interface BitfieldFrame extends FrameBase {
  type: 'BITFIELD';
  unit: string;
  pieceCount: number;
  bits: Uint8Array;
}
/** The sender now holds (and has verified) one more piece. */
export interface HaveFrame extends FrameBase {
  type: 'HAVE';
  unit: string;
  piece: number;
}
/** Ask for `length` bytes at `offset` within a piece. */
export interface RequestFrame extends FrameBase {
  type: 'REQUEST';
  unit: string;
  piece: number;
  offset: number;
  length: number;
}
/** Bytes of a piece starting at `offset` within it; the length is `data.byteLength`. */
export interface PieceFrame extends FrameBase {
  type: 'PIECE';
  unit: string;
  piece: number;
  offset: number;
  data: Uint8Array;
}
/** A REQUEST (same request id) will not be served. */
export interface RejectFrame extends FrameBase {
  type: 'REJECT';
  unit: string;
  piece: number;
  offset: number;
  length: number;
  reason: RejectReason;
}
/** Withdraw an earlier REQUEST (same request id and range). */
export interface CancelFrame extends FrameBase {
  type: 'CANCEL';
  unit: string;
  piece: number;
  offset: number;
  length: number;
}

/** A tensor: element type, shape and its little-endian element bytes (`product(shape) × size` bytes). */
export interface WireTensor {
  dtype: TensorDtype;
  shape: number[];
  data: Uint8Array;
}
/** Hidden state handed to the next ring stage. */
export interface ActivationFrame extends FrameBase {
  type: 'ACTIVATION';
  session: SessionId;
  step: number;
  epoch: number;
  tensor: WireTensor;
}
/** A sampled token, sent to stage 0 (next step) and to the requester. */
export interface TokenFrame extends FrameBase {
  type: 'TOKEN';
  session: SessionId;
  step: number;
  tokenId: number;
  logprob: number;
}
/** A session is over: stages drop its KV cache. */
export interface SessionEndFrame extends FrameBase {
  type: 'SESSION_END';
  session: SessionId;
  reason: SessionEndReason;
}
/**
 * How a ring session runs, sent once per session right before its first ACTIVATION (same channel,
 * so it arrives first): who gets the tokens, when to stop, how the last stage samples.
 */
export interface SessionInitFrame extends FrameBase {
  type: 'SESSION_INIT';
  session: SessionId;
  replyTo: string;
  maxTokens: number;
  stop: number[];
  temperature: number;
  topP: number;
  topK: number;
  seed: number;
  /** Audited session (flags byte bit 0, present only when set, so older frames are unchanged). */
  audit?: boolean;
}
/** Liveness/RTT probe; `sentAt` is the sender's clock in ms. */
export interface PingFrame extends FrameBase {
  type: 'PING';
  sentAt: number;
}
/** Answer to a PING (same request id): its `sentAt` echoed, and the responder's clock. */
export interface PongFrame extends FrameBase {
  type: 'PONG';
  pingSentAt: number;
  sentAt: number;
}

/**
 * Flow control: the receiver has consumed `bytes` more bytes of bulk-lane messages, so the sender
 * may have that many more in flight. Keeps the receiver's backlog (which WebRTC cannot pause)
 * small, so ring frames are not stuck behind it.
 */
export interface CreditFrame extends FrameBase {
  type: 'CREDIT';
  bytes: number;
}

export type Frame =
  | BitfieldFrame
  | HaveFrame
  | RequestFrame
  | PieceFrame
  | RejectFrame
  | CancelFrame
  | ActivationFrame
  | TokenFrame
  | SessionEndFrame
  | SessionInitFrame
  | PingFrame
  | PongFrame
  | CreditFrame;

/** The frame type with a given name, e.g. `FrameOf<'PIECE'>`. */
export type FrameOf<T extends FrameTypeName> = Extract<Frame, { type: T }>;
