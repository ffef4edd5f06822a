/**
 * Checks a member's `model` report: the manifest it carries must hash (SHA-256 of its canonical
 * JSON bytes, the model id) to the model of the room, and the shape the planner uses is derived
 * here from that manifest, never taken from the member. What the room stores and relays is the
 * small verified form `{modelId, shape}`, not the manifest.
 */
import { createHash } from 'node:crypto';
import { canonicalJsonBytes } from '../shared/model/canonical-json.ts';
import { parseManifest } from '../shared/model/manifest-schema.ts';
import { modelShapeFromManifest } from '../shared/planner/model-shape.ts';
import { modelReportSchema, type ModelReport } from '../shared/ring/ring-plan.ts';

export type ModelReportCheck = { readonly ok: true; readonly report: ModelReport } | { readonly ok: false; readonly reason: string };

export interface ModelReportPolicy {
  /** The only model id this room plans for (the room id, or the model the operator set for it). */
  readonly expectedModelId: string;
  /** Largest canonical manifest accepted, bytes. */
  readonly maxManifestBytes: number;
}

/** Verifies `data` of a `model` report; never throws (whatever a member sends is an answer, not a crash). */
export function checkModelReport(data: unknown, policy: ModelReportPolicy): ModelReportCheck {
  const parsed = modelReportSchema.safeParse(data);
  if (!parsed.success) return refuse('model report must be {modelId, manifest, contextTokens?} (the manifest, not a shape)');
  const { modelId, manifest, contextTokens } = parsed.data;
  if (modelId !== policy.expectedModelId) return refuse(`model ${modelId} is not this room's model ${policy.expectedModelId}`);
  let bytes: Uint8Array;
  try {
    bytes = canonicalJsonBytes(manifest);
  } catch (err) {
    // Non-finite numbers or nesting deeper than the stack: not a manifest anyone wrote.
    return refuse(`manifest has no canonical JSON form (${err instanceof Error ? err.name : 'error'})`);
  }
  if (bytes.byteLength > policy.maxManifestBytes) return refuse(`manifest is ${bytes.byteLength} bytes, over the ${policy.maxManifestBytes}-byte limit`);
  const hash = createHash('sha256').update(bytes).digest('hex');
  if (hash !== modelId) return refuse(`manifest hashes to ${hash}, not ${modelId}`);
  try {
    const shape = modelShapeFromManifest(parseManifest(manifest), contextTokens);
    return { ok: true, report: { modelId, shape } };
  } catch (err) {
    return refuse(`manifest does not describe a model the planner can use: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function refuse(reason: string): ModelReportCheck {
  return { ok: false, reason };
}
