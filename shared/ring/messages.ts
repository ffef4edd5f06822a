// Ring messages as the ring logic sees them. They are deliberately independent of the wire codec
// (shared/wire/): the transport adapter maps them to frames — `activation` and `prefill` to
// ACTIVATION (a prefill's token ids as an int32 tensor), `token` to TOKEN, `end` to SESSION_END,
// `failure` to ERROR — and carries `init` once per session alongside its first frame.
import type { PeerId, SessionId } from '../ids.ts';

/** How the last stage turns logits into a token; with a seed, step s always draws the same. */
export interface SamplingOptions {
  /** 0 = greedy (argmax, lowest id on ties). */
  readonly temperature: number;
  /** Nucleus mass in (0, 1]; 1 = off. */
  readonly topP: number;
  /** Keep the k most likely tokens; 0 = off. */
  readonly topK: number;
  /** Seeds the draw of each step independently (seed, step), so a re-submission repeats it. */
  readonly seed: number;
}

/** What every stage learns about a session from its first frame. */
export interface SessionInit {
  /** The requester: the last stage sends it every token. */
  readonly replyTo: PeerId;
  /** Generation stops after the token of step maxTokens − 1. */
  readonly maxTokens: number;
  /** Token ids that end generation (not sent on to stage 0). */
  readonly stop: readonly number[];
  readonly sampling: SamplingOptions;
  /**
   * Audited session (docs/ring.md, "Verified compute"): every stage also sends the requester an
   * `audit` per step with what it received and what it sent.
   */
  readonly audit?: boolean;
}

/**
 * Requester → stage 0: start (or restart on a new ring) a session with prompt + tokens so far.
 * It produces the token of `step` (= number of tokens generated before it).
 */
export interface RingPrefill {
  readonly type: 'prefill';
  readonly session: SessionId;
  readonly epoch: number;
  readonly step: number;
  readonly tokens: readonly number[];
  readonly init: SessionInit;
}

/** Stage i → stage i+1: hidden states [seqLen, hidden] for `step` (seqLen > 1 on a prefill). */
export interface RingActivation {
  readonly type: 'activation';
  readonly session: SessionId;
  readonly epoch: number;
  readonly step: number;
  readonly seqLen: number;
  readonly hidden: Float32Array;
  /** Present on the session's first frame (the prefill). */
  readonly init?: SessionInit;
}

/** Last stage → stage 0 (input of step + 1) and → requester (output). */
export interface RingToken {
  readonly type: 'token';
  readonly session: SessionId;
  readonly epoch: number;
  readonly step: number;
  readonly tokenId: number;
  readonly logprob: number;
}

/**
 * Requester → a stage: drop the session's KV cache. Stage → requester: the stage dropped it
 * (`evicted`: idle; `busy`: refused at opening, the stage holds as many sessions or KV as it may).
 */
export interface RingEnd {
  readonly type: 'end';
  readonly session: SessionId;
  readonly reason: 'done' | 'cancelled' | 'evicted' | 'failed' | 'busy';
}

/** Stage → requester: running the session failed at this stage. */
export interface RingFailure {
  readonly type: 'failure';
  readonly session: SessionId;
  readonly epoch: number;
  readonly message: string;
}

/** What a stage received for one step: token ids (stage 0) or hidden states [seqLen, hidden]. */
export type AuditInput =
  { readonly kind: 'tokens'; readonly ids: Int32Array } | { readonly kind: 'hidden'; readonly data: Float32Array; readonly seqLen: number };

/** What a stage sent for one step: hidden states, or (last stage) the token it picked. */
export type AuditOutput =
  { readonly kind: 'hidden'; readonly data: Float32Array; readonly seqLen: number } | { readonly kind: 'token'; readonly tokenId: number };

/**
 * Stage → requester, in audited sessions only: the stage's input and output of `step`, so a
 * trusted requester can re-run the step and check both the stage and its links.
 */
export interface RingAudit {
  readonly type: 'audit';
  readonly session: SessionId;
  readonly epoch: number;
  readonly step: number;
  /** The sender's index in the submission's ring. */
  readonly stage: number;
  readonly input: AuditInput;
  readonly output: AuditOutput;
}

export type RingMessage = RingPrefill | RingActivation | RingToken | RingEnd | RingFailure | RingAudit;

/** Sends a ring message to a peer; injected so the ring logic runs in-process in tests. */
export type RingSend = (to: PeerId, message: RingMessage) => void;
