import { describe, expect, it } from 'vitest';
import { asSessionId } from '../../../shared/ids.ts';
import { joinAuditInputs, rerunProblem } from '../../../shared/ring/audit-rerun.ts';
import type { AuditInput, AuditOutput, RingAudit } from '../../../shared/ring/messages.ts';

const greedy = { temperature: 0, topP: 1, topK: 0, seed: 1 };
const audit = (step: number, input: AuditInput, output: AuditOutput): RingAudit => ({
  type: 'audit',
  session: asSessionId('s.1'),
  epoch: 1,
  step,
  stage: 1,
  input,
  output,
});
const hidden = (...xs: number[]): { kind: 'hidden'; data: Float32Array; seqLen: number } => ({
  kind: 'hidden',
  data: Float32Array.from(xs),
  seqLen: xs.length / 2,
});

describe('joinAuditInputs', () => {
  it('passes one step’s input through', () => {
    expect(joinAuditInputs([audit(3, { kind: 'tokens', ids: Int32Array.from([7]) }, { kind: 'token', tokenId: 1 })])).toEqual({
      kind: 'tokens',
      ids: Int32Array.from([7]),
    });
  });

  it('joins consecutive steps’ tokens, and hidden rows, in step order', () => {
    const tokenSteps = [5, 6, 7].map((id, i) => audit(i, { kind: 'tokens', ids: Int32Array.from([id]) }, hidden(0, 0)));
    expect(joinAuditInputs(tokenSteps)).toEqual({ kind: 'tokens', ids: Int32Array.from([5, 6, 7]) });
    const hiddenSteps = [audit(0, hidden(1, 2, 3, 4), hidden(0, 0, 0, 0)), audit(1, hidden(5, 6), hidden(0, 0))];
    expect(joinAuditInputs(hiddenSteps)).toEqual({ kind: 'hidden', data: Float32Array.from([1, 2, 3, 4, 5, 6]), seqLen: 3 });
  });
});

describe('rerunProblem', () => {
  const group = [audit(4, hidden(0, 0), hidden(1, 2)), audit(5, hidden(0, 0), hidden(3, 4))];

  it('finds nothing when the re-run made what every step reported', () => {
    expect(rerunProblem(group, { kind: 'hidden', data: Float32Array.from([1, 2, 3, 4]), seqLen: 2 }, greedy)).toBeNull();
  });

  it('names the first step whose reported output the re-run contradicts', () => {
    expect(rerunProblem(group, { kind: 'hidden', data: Float32Array.from([1, 2, 30, 4]), seqLen: 2 }, greedy)?.step).toBe(5);
  });

  it('refuses a re-run of another size and an output of the wrong kind', () => {
    expect(rerunProblem(group, { kind: 'hidden', data: Float32Array.from([1, 2, 3, 4, 5, 6]), seqLen: 3 }, greedy)).toEqual({
      step: 4,
      why: '4 values reported, the re-run made 6',
    });
    const tokenGroup = [audit(2, hidden(0, 0), { kind: 'token', tokenId: 1 })];
    expect(rerunProblem(tokenGroup, { kind: 'hidden', data: Float32Array.from([1, 2]), seqLen: 1 }, greedy)?.why).toBe('reported a token for hidden states');
    expect(rerunProblem(group, { kind: 'logits', data: Float32Array.from([0, 1]), logSumExp: 1 }, greedy)?.why).toBe('reported hidden states for a token');
  });

  it('holds a last stage’s token against the re-run’s logits', () => {
    const logits = { kind: 'logits' as const, data: Float32Array.from([0, 5, 1]), logSumExp: 5 };
    expect(rerunProblem([audit(2, hidden(0, 0), { kind: 'token', tokenId: 1 })], logits, greedy)).toBeNull();
    expect(rerunProblem([audit(2, hidden(0, 0), { kind: 'token', tokenId: 2 })], logits, greedy)?.step).toBe(2);
  });
});
