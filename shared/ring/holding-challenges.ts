// What a trusted member asks a contributor stage to prove it holds its units (docs/ring.md, "Proof
// of holding"), and how the answers are judged. Pure: the challenger does the asking.
import type { LayerRange } from '../model/layer-range.ts';
import { unitsForRange, type ModelManifest } from '../model/manifest.ts';
import { piecesOf, type PieceRef } from '../pieces/piece-ref.ts';
import type { ProbeAnswer } from '../pieces/range-probe.ts';

export interface HoldingPolicy {
  /** Byte ranges asked per proof, each of a different piece the challenger holds (default 4). */
  readonly challenges: number;
  /** Bytes per range (default 64). */
  readonly rangeBytes: number;
  /** How long one answer may take, ms (default 5 000). */
  readonly answerTimeoutMs: number;
  /** Rounds tried when answers do not come (timeouts, no connection yet) before giving up (default 6). */
  readonly attempts: number;
  /** Pause before the second round, doubled for each later one, ms (default 500: 15.5 s over 6 rounds). */
  readonly retryMs: number;
}

export const DEFAULT_HOLDING_POLICY: HoldingPolicy = { challenges: 4, rangeBytes: 64, answerTimeoutMs: 5_000, attempts: 6, retryMs: 500 };

/**
 * One question: `length` bytes at `offset` of `ref`. `whole`: the challenger holds none of the
 * stage's pieces, so it asks for a whole piece and checks it against the manifest's SHA-256.
 */
export interface Challenge {
  readonly ref: PieceRef;
  readonly offset: number;
  readonly length: number;
  readonly whole: boolean;
}

/** The pieces of the units a stage of `range` must hold (embed on stage 0, head on the last). */
export function stagePieces(manifest: ModelManifest, range: LayerRange): PieceRef[] {
  return piecesOf(manifest, unitsForRange(manifest.architecture.numLayers, range.start, range.end));
}

/**
 * Up to `policy.challenges` ranges of distinct pieces among `pieces` that `holds` says the
 * challenger holds, at random offsets; one whole random piece when it holds none of them.
 */
export function pickChallenges(
  pieces: readonly PieceRef[],
  holds: (ref: PieceRef) => boolean,
  policy: Pick<HoldingPolicy, 'challenges' | 'rangeBytes'>,
  random: () => number,
): Challenge[] {
  if (pieces.length === 0) return [];
  const held = pieces.filter(holds);
  if (held.length === 0) {
    const ref = pieces[Math.min(pieces.length - 1, Math.floor(random() * pieces.length))] as PieceRef;
    return [{ ref, offset: 0, length: ref.length, whole: true }];
  }
  const out: Challenge[] = [];
  // Partial Fisher–Yates: the first `n` of a random permutation, bounded by the pieces held.
  const pool = [...held];
  const n = Math.min(policy.challenges, pool.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.min(pool.length - i - 1, Math.floor(random() * (pool.length - i)));
    [pool[i], pool[j]] = [pool[j] as PieceRef, pool[i] as PieceRef];
    const ref = pool[i] as PieceRef;
    const length = Math.min(policy.rangeBytes, ref.length);
    const offset = Math.min(ref.length - length, Math.floor(random() * (ref.length - length + 1)));
    out.push({ ref, offset, length, whole: false });
  }
  return out;
}

/**
 * How one answer reads: `held` (the bytes are right), `wrong` (a refusal of a piece it must hold,
 * wrong bytes, a malformed answer: proof it does not hold the unit) or `unanswered` (a timeout,
 * no connection, a busy refusal: no verdict, ask again later).
 */
export type AnswerVerdict =
  | { readonly kind: 'held' }
  | { readonly kind: 'wrong'; readonly detail: string }
  /** `silent`: the question went out and no answer came in time. */
  | { readonly kind: 'unanswered'; readonly detail: string; readonly silent: boolean };

/**
 * Judges `answer` to `c`. `expected`: the challenger's own bytes of the range (ranged challenges),
 * `hashOf`'s hex SHA-256 of the data is compared with the manifest's for a whole piece.
 */
export async function judgeAnswer(
  c: Challenge,
  answer: ProbeAnswer,
  expected: Uint8Array | undefined,
  hashOf: (data: Uint8Array) => Promise<string>,
): Promise<AnswerVerdict> {
  const what = `${c.ref.unit}#${c.ref.index}@${c.offset}+${c.length}`;
  switch (answer.kind) {
    case 'timeout':
    case 'unreachable':
      return { kind: 'unanswered', detail: `${what}: ${answer.kind}`, silent: answer.kind === 'timeout' };
    case 'rejected':
      // A serve queue full of other peers' requests is no proof either way.
      return answer.reason === 'busy' || answer.reason === 'too many open probes'
        ? { kind: 'unanswered', detail: `${what}: busy`, silent: false }
        : { kind: 'wrong', detail: `${what}: refused (${answer.reason})` };
    case 'invalid':
      return { kind: 'wrong', detail: `${what}: ${answer.detail}` };
    case 'data': {
      if (answer.data.byteLength !== c.length) return { kind: 'wrong', detail: `${what}: ${answer.data.byteLength} bytes` };
      if (c.whole)
        return (await hashOf(answer.data)) === c.ref.hash ? { kind: 'held' } : { kind: 'wrong', detail: `${what}: sha256 differs from the manifest's` };
      if (expected === undefined || !sameBytes(answer.data, expected)) return { kind: 'wrong', detail: `${what}: bytes differ` };
      return { kind: 'held' };
    }
  }
}

/**
 * A proof from one round of verdicts: any wrong answer fails it, all held prove it, anything else
 * asks for another round.
 */
export function proofOf(
  verdicts: readonly AnswerVerdict[],
): { readonly kind: 'proven' } | { readonly kind: 'failed'; readonly detail: string } | { readonly kind: 'retry'; readonly detail: string } {
  const wrong = verdicts.find((v) => v.kind === 'wrong');
  if (wrong !== undefined && wrong.kind === 'wrong') return { kind: 'failed', detail: wrong.detail };
  const open = verdicts.find((v) => v.kind === 'unanswered');
  if (open !== undefined && open.kind === 'unanswered') return { kind: 'retry', detail: open.detail };
  return verdicts.length > 0 ? { kind: 'proven' } : { kind: 'retry', detail: 'nothing to ask' };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
