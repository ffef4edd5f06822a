// Runs a fixed token sequence through a demo package split into two stages on one engine and
// returns the last stage's logits per step (prefill, then decode steps): the same work on any
// device, so two devices' logits can be compared element by element.
import { openModelPackage } from '../../node-peer/model/open-model-package.ts';
import type { Engine } from '../../shared/engine/engine.ts';
import type { LayerRange } from '../../shared/model/layer-range.ts';
import { asSessionId } from '../../shared/ids.ts';
import { readRangeUnits } from './engine-fixtures.ts';

/** Prompt of 5 tokens, then 3 single-token decode steps. */
export const CHAIN_STEPS: readonly (readonly number[])[] = [[1, 72, 101, 108, 108], [111], [32], [119]];

export async function runDeviceChain(engine: Engine, modelDir: string): Promise<number[][]> {
  const pkg = await openModelPackage(modelDir);
  const n = pkg.manifest.architecture.numLayers;
  const ranges: LayerRange[] = [
    { start: 0, end: Math.floor(n / 2) },
    { start: Math.floor(n / 2), end: n },
  ];
  const stages = [];
  for (const range of ranges) stages.push(await engine.loadStage({ manifest: pkg.manifest, range, units: await readRangeUnits(pkg, range), threads: 1 }));
  const session = asSessionId('device-chain');
  const logits: number[][] = [];
  for (const ids of CHAIN_STEPS) {
    const hidden = await stages[0]!.run(session, { kind: 'tokens', ids: Int32Array.from(ids) });
    if (hidden.kind !== 'hidden') throw new Error('first stage returned logits');
    const out = await stages[1]!.run(session, hidden);
    if (out.kind !== 'logits') throw new Error('last stage returned hidden states');
    logits.push(Array.from(out.data));
  }
  return logits;
}
