import type { SessionId } from '../ids.ts';
import type { ModelManifest } from '../model/manifest.ts';
import type { StageInput } from './engine.ts';
import { ContextLengthExceededError, StageInputError } from './errors.ts';

/**
 * Checks a run's input before any engine touches it: token ids inside the vocabulary for a first
 * stage (`takesTokens`), whole hidden-state rows otherwise, at least one position, and room in the
 * session's cache (`length` positions already there). Returns the number of new positions.
 */
export function checkStageInput(label: string, manifest: ModelManifest, takesTokens: boolean, id: SessionId, input: StageInput, length: number): number {
  const a = manifest.architecture;
  let seqLen: number;
  if (takesTokens) {
    if (input.kind !== 'tokens') throw new StageInputError(label, 'expected token ids (the stage holds the embedding)');
    for (const t of input.ids) {
      if (!(t >= 0 && t < a.vocabSize)) throw new StageInputError(label, `token id ${t} outside the vocabulary [0, ${a.vocabSize})`);
    }
    seqLen = input.ids.length;
  } else {
    if (input.kind !== 'hidden') throw new StageInputError(label, 'expected hidden states from the previous stage');
    if (!(Number.isInteger(input.seqLen) && input.data.length === input.seqLen * a.hiddenSize)) {
      throw new StageInputError(label, `hidden states of ${input.data.length} floats, expected ${input.seqLen} × ${a.hiddenSize}`);
    }
    seqLen = input.seqLen;
  }
  if (seqLen < 1) throw new StageInputError(label, 'expected at least one position');
  if (length + seqLen > a.contextLength) throw new ContextLengthExceededError(id, length + seqLen, a.contextLength);
  return seqLen;
}
