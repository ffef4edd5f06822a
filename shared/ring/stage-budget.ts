// A stage's session limits from the peer's memory budget: the planner gave this peer a range whose
// weights plus one context of KV fit `--memory`; whatever the weights leave is the KV every session
// together may reserve. Without a budget the stage allows one context per session it may hold.
import type { LayerRange } from '../model/layer-range.ts';
import { unitsForRange, type ModelManifest } from '../model/manifest.ts';
import { modelShapeFromManifest } from '../planner/model-shape.ts';
import { DEFAULT_STAGE_LIMITS, type StageLimits } from './stage-sessions.ts';

export interface StageBudgetInput {
  readonly manifest: ModelManifest;
  readonly range: LayerRange;
  readonly contextTokens: number;
  readonly memoryBytes?: number;
  readonly caps?: Partial<Omit<StageLimits, 'kvTokens'>>;
  /** Bytes of one KV element in the engine's stages (Engine.kvBytesPerElement; default 4, fp32). */
  readonly kvBytesPerElement?: number;
}

export function stageLimitsFor(i: StageBudgetInput): StageLimits {
  const caps = { ...DEFAULT_STAGE_LIMITS, ...i.caps };
  const layers = i.range.end - i.range.start;
  const kvPerToken = modelShapeFromManifest(i.manifest, i.contextTokens, i.kvBytesPerElement).kvBytesPerTokenPerLayer * layers;
  if (i.memoryBytes === undefined || kvPerToken === 0) return { ...caps, kvTokens: caps.maxSessions * i.contextTokens };
  const wanted = new Set<string>(unitsForRange(i.manifest.architecture.numLayers, i.range.start, i.range.end));
  const weights = i.manifest.units.filter((u) => wanted.has(u.name)).reduce((sum, u) => sum + u.bytes, 0);
  // The plan reserved at least one context: never less than that, even if the weights' estimate is off.
  const kvTokens = Math.max(i.contextTokens, Math.floor((i.memoryBytes - weights) / kvPerToken));
  return { ...caps, kvTokens };
}
