import type { Stage, StageInput } from '../engine/engine.ts';
import type { LayerRange } from '../model/layer-range.ts';
import type { SessionId } from '../ids.ts';
import { StageChainError } from './errors.ts';

/** Checks that the stages' ranges cover [0, numLayers) in order without gaps or overlaps. */
export function assertChain(ranges: readonly LayerRange[], numLayers: number): void {
  let expected = 0;
  for (const r of ranges) {
    if (r.start !== expected) throw new StageChainError(`range [${r.start}, ${r.end}) should start at layer ${expected}`);
    expected = r.end;
  }
  if (expected !== numLayers) throw new StageChainError(`ranges end at layer ${expected}, expected ${numLayers}`);
}

/**
 * One hop per stage, in order: token ids into the first, hidden states between, logits of the last
 * position out of the last. This is the path a ring session takes, with the network removed.
 */
export async function runChain(stages: readonly Stage[], session: SessionId, ids: readonly number[]): Promise<Float32Array> {
  let input: StageInput = { kind: 'tokens', ids: Int32Array.from(ids) };
  for (const stage of stages) {
    const out = await stage.run(session, input);
    if (out.kind === 'logits') return out.data;
    input = out;
  }
  throw new StageChainError('the last stage returned hidden states, expected logits');
}
