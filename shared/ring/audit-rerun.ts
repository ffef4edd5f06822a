// How the verifier re-runs a contributor's audited steps (docs/ring.md, "Verified compute"): the
// inputs of consecutive steps joined into one run (a prefill-shaped run costs far less than one run
// per step), and the run's output held against what each step reported (verifier.ts's tolerances).
// Pure.
import type { StageInput, StageOutput } from '../engine/engine.ts';
import type { RingAudit, SamplingOptions } from './messages.ts';
import { pickStepToken } from './step-sampler.ts';
import { FP32_TOLERANCE, hiddenMismatch, tokenMismatch, toleranceFor } from './verifier.ts';

/** The inputs of consecutive steps as one stage input (positions in order). */
export function joinAuditInputs(group: readonly RingAudit[]): StageInput {
  const first = group[0] as RingAudit;
  if (group.length === 1)
    return first.input.kind === 'tokens' ? { kind: 'tokens', ids: first.input.ids } : { kind: 'hidden', data: first.input.data, seqLen: first.input.seqLen };
  if (first.input.kind === 'tokens') {
    const ids: number[] = [];
    for (const m of group) if (m.input.kind === 'tokens') ids.push(...m.input.ids);
    return { kind: 'tokens', ids: Int32Array.from(ids) };
  }
  let rows = 0;
  let length = 0;
  for (const m of group) {
    if (m.input.kind !== 'hidden') continue;
    rows += m.input.seqLen;
    length += m.input.data.length;
  }
  const data = new Float32Array(length);
  let at = 0;
  for (const m of group) {
    if (m.input.kind !== 'hidden') continue;
    data.set(m.input.data, at);
    at += m.input.data.length;
  }
  return { kind: 'hidden', data, seqLen: rows };
}

/** The first step of `group` whose reported output the re-run's `out` contradicts, with why. */
export function rerunProblem(group: readonly RingAudit[], out: StageOutput, sampling: SamplingOptions): { step: number; why: string } | null {
  if (out.kind === 'logits') {
    const m = group[0] as RingAudit;
    if (m.output.kind !== 'token') return { step: m.step, why: 'reported hidden states for a token' };
    const why = tokenMismatch(out.data, m.output.tokenId, sampling, m.step, pickStepToken, FP32_TOLERANCE);
    return why === null ? null : { step: m.step, why };
  }
  let at = 0;
  for (const m of group) {
    if (m.output.kind !== 'hidden') return { step: m.step, why: 'reported a token for hidden states' };
    const expected = out.data.subarray(at, at + m.output.data.length);
    at += m.output.data.length;
    const why = hiddenMismatch(expected, m.output.data, toleranceFor(m.output.data));
    if (why !== null) return { step: m.step, why };
  }
  return at === out.data.length ? null : { step: (group[0] as RingAudit).step, why: `${at} values reported, the re-run made ${out.data.length}` };
}
