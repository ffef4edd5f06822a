// Which units a peer's swarm fetches on its own (tier 0, docs/pieces.md): all of them (a seed), none
// (a ring peer: its stage asks for its layers' units once a plan gives it some), or a layer range.
import { unitsForRange, type ModelManifest, type UnitName } from '../model/manifest.ts';

export type UnitsPolicy = 'all' | 'none' | { readonly start: number; readonly end: number };

/** The swarm's `units` answer for `policy`; a range past the model's layers is cut at its last layer. */
export function unitsFor(policy: UnitsPolicy, manifest: ModelManifest): readonly UnitName[] | 'all' {
  if (policy === 'all') return 'all';
  if (policy === 'none') return [];
  const layers = manifest.architecture.numLayers;
  return unitsForRange(layers, policy.start, Math.min(policy.end, layers));
}
