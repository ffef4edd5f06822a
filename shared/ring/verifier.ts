// The pure half of verified compute (docs/ring.md, "Verified compute"): how close a re-run must
// come to what a stage reported, whether a reported token is one the sampler could have picked,
// whether two ends of a link saw the same bytes, and whom a mismatch is laid on.
import type { PeerId } from '../ids.ts';
import { decodeHalf, encodeHalf } from './fp16.ts';
import type { AuditInput, AuditOutput, SamplingOptions } from './messages.ts';
import type { PickStepToken } from './step-sampler.ts';

/**
 * How far an honest re-run may differ. fp32 engines on different backends (onnxruntime CPU, WASM,
 * WebGPU) sum in different orders: after a stage's layers their outputs differ by ~1e-6–1e-5 of
 * the hidden state's norm, so `relL2` 1e-4 leaves a 10× margin while catching any perturbation
 * that could steer the model. Per element, |d| ≤ `elementRel` · (|e| + rms(e)) also catches one
 * element changed by a lot (which a norm-relative bound dilutes over thousands of dimensions).
 */
export interface Tolerance {
  readonly relL2: number;
  readonly elementRel: number;
  /** A reported greedy token may trail the re-run's best logit by this much (× max(1, |best|)). */
  readonly logit: number;
}

export const FP32_TOLERANCE: Tolerance = { relL2: 1e-4, elementRel: 1e-3, logit: 1e-3 };
/** fp16 links round every value to 11 bits (relative 2^-11 ≈ 4.9e-4 each). */
export const FP16_TOLERANCE: Tolerance = { relL2: 2e-3, elementRel: 4e-3, logit: 1e-2 };

/** Whether every value of `data` is what fp16 on the wire would have made of it. */
export function isHalfExact(data: Float32Array): boolean {
  const round = decodeHalf(encodeHalf(data));
  for (let i = 0; i < data.length; i++) if (round[i] !== data[i] && !(Number.isNaN(round[i]) && Number.isNaN(data[i]))) return false;
  return true;
}

/** The tolerance for a reported output: wider when it went over an fp16 link. */
export function toleranceFor(reported: Float32Array): Tolerance {
  return isHalfExact(reported) ? FP16_TOLERANCE : FP32_TOLERANCE;
}

/** Why `reported` is not an honest stage's output, given the re-run's `expected`; null when it is. */
export function hiddenMismatch(expected: Float32Array, reported: Float32Array, tol: Tolerance): string | null {
  if (expected.length !== reported.length) return `${reported.length} values, the re-run made ${expected.length}`;
  let sq = 0;
  let dsq = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i] as number;
    const r = reported[i] as number;
    if (!Number.isFinite(r)) return `value ${i} is ${r}`;
    sq += e * e;
    dsq += (r - e) * (r - e);
  }
  const norm = Math.sqrt(sq);
  const rel = Math.sqrt(dsq) / Math.max(norm, Number.MIN_VALUE);
  if (rel > tol.relL2) return `relative L2 distance ${rel.toExponential(2)} over ${tol.relL2}`;
  const rms = norm / Math.sqrt(Math.max(1, expected.length));
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i] as number;
    const d = Math.abs((reported[i] as number) - e);
    if (d > tol.elementRel * (Math.abs(e) + rms)) return `value ${i} off by ${d.toExponential(2)} (expected ${e})`;
  }
  return null;
}

/**
 * Why `tokenId` is not what the last stage's sampler would pick from the re-run's `logits`; null
 * when it is. Greedy: the best logit, or one within the tolerance of it (a near-tie an honest
 * backend may break the other way). Sampled: the seeded pick of the re-run, or a near-tie of it.
 */
export function tokenMismatch(
  logits: Float32Array,
  tokenId: number,
  sampling: SamplingOptions,
  step: number,
  pick: PickStepToken,
  tol: Tolerance,
): string | null {
  if (!(tokenId >= 0 && tokenId < logits.length)) return `token ${tokenId} outside the vocabulary`;
  let best = 0;
  for (let i = 1; i < logits.length; i++) if ((logits[i] as number) > (logits[best] as number)) best = i;
  const target = sampling.temperature === 0 ? best : pick(logits, sampling, step);
  if (target === tokenId) return null;
  const gap = (logits[target] as number) - (logits[tokenId] as number);
  const slack = tol.logit * Math.max(1, Math.abs(logits[best] as number));
  return Math.abs(gap) <= slack ? null : `token ${tokenId}, the re-run picks ${target} (logit gap ${gap.toFixed(4)})`;
}

/** Exact equality of what one end of a link sent and the other received (bit for bit). */
export function sameTensor(sent: AuditInput | AuditOutput, received: AuditInput): boolean {
  if (received.kind === 'tokens') {
    if (sent.kind === 'token') return received.ids.length === 1 && received.ids[0] === sent.tokenId;
    if (sent.kind !== 'tokens' || sent.ids.length !== received.ids.length) return false;
    for (let i = 0; i < sent.ids.length; i++) if (sent.ids[i] !== received.ids[i]) return false;
    return true;
  }
  if (sent.kind !== 'hidden' || sent.seqLen !== received.seqLen || sent.data.length !== received.data.length) return false;
  const a = new Uint32Array(sent.data.buffer, sent.data.byteOffset, sent.data.length);
  const b = new Uint32Array(received.data.buffer, received.data.byteOffset, received.data.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Whom an inconsistent link is laid on: its contributor end. With contributors at both ends either
 * may lie and nothing tells which, so both go (an attacker can take an honest neighbour with it,
 * one for one); with trusted members at both ends, nobody (no eviction, the steps replay).
 */
export function linkCulprits(sender: PeerId, senderContributor: boolean, receiver: PeerId, receiverContributor: boolean): PeerId[] {
  const out: PeerId[] = [];
  if (senderContributor) out.push(sender);
  if (receiverContributor && receiver !== sender) out.push(receiver);
  return out;
}

/**
 * Whether to audit a new submission: always while a contributor of the ring has fewer than
 * `newSteps` verified steps (a newcomer is checked on every step), else with probability `rate`.
 * Never when the ring has no contributor.
 */
export function auditDecision(contributorsVerified: readonly number[], newSteps: number, rate: number, draw: number): boolean {
  if (contributorsVerified.length === 0) return false;
  if (contributorsVerified.some((n) => n < newSteps)) return true;
  return draw < rate;
}
