import type { ModelManifest } from '../model/manifest.ts';
import { InvalidPlanInputError } from './errors.ts';

/**
 * What the planner needs to know about a model: byte sizes of its units and of the KV cache a
 * stage must reserve per layer. All sizes are whole bytes.
 */
export interface ModelShape {
  readonly numLayers: number;
  /** Weight bytes of one transformer layer (the largest layer unit when they differ). */
  readonly bytesPerLayer: number;
  /** Weight bytes of the embedding, held by the first stage. */
  readonly embedBytes: number;
  /** Weight bytes of final norm + LM head, held by the last stage. */
  readonly headBytes: number;
  /** K and V bytes one token occupies in one layer's cache. */
  readonly kvBytesPerTokenPerLayer: number;
  /** Context length the ring serves; every stage reserves KV for this many tokens. */
  readonly contextTokens: number;
}

/** KV caches are kept in fp32 by default, like all activations (docs/engines.md, manifest `dtype` note). */
const KV_BYTES_PER_ELEMENT = 4;

/**
 * Derives the shape from a manifest. `contextTokens` is what the ring will serve (at most the
 * model's `contextLength`); KV per token per layer = 2 (K and V) × kvHeads × headDim ×
 * `kvBytesPerElement` (4; 2 for an engine keeping an fp16 KV cache).
 */
export function modelShapeFromManifest(
  manifest: ModelManifest,
  contextTokens: number = manifest.architecture.contextLength,
  kvBytesPerElement: number = KV_BYTES_PER_ELEMENT,
): ModelShape {
  const arch = manifest.architecture;
  if (!Number.isInteger(contextTokens) || contextTokens < 1 || contextTokens > arch.contextLength) {
    throw new InvalidPlanInputError('contextTokens', `${contextTokens} must be an integer in 1..${arch.contextLength} (the model's context length)`);
  }
  let bytesPerLayer = 0;
  let embedBytes: number | undefined;
  let headBytes: number | undefined;
  for (const unit of manifest.units) {
    if (unit.name === 'embed') embedBytes = unit.bytes;
    else if (unit.name === 'head') headBytes = unit.bytes;
    else bytesPerLayer = Math.max(bytesPerLayer, unit.bytes);
  }
  if (embedBytes === undefined) throw new InvalidPlanInputError('manifest.units', 'no "embed" unit, expected one');
  if (headBytes === undefined) throw new InvalidPlanInputError('manifest.units', 'no "head" unit, expected one');
  const shape: ModelShape = {
    numLayers: arch.numLayers,
    bytesPerLayer,
    embedBytes,
    headBytes,
    kvBytesPerTokenPerLayer: 2 * arch.numKvHeads * arch.headDim * kvBytesPerElement,
    contextTokens,
  };
  validateModelShape(shape);
  return shape;
}

/** Bytes one layer costs a stage: its weights plus its KV reservation at `contextTokens`. */
export function layerCostBytes(shape: ModelShape): number {
  return shape.bytesPerLayer + shape.kvBytesPerTokenPerLayer * shape.contextTokens;
}

/** Bytes a stage holding layers [start, end) needs: layers + embed if first + head if last. */
export function stageBytes(shape: ModelShape, start: number, end: number): number {
  return (end - start) * layerCostBytes(shape) + (start === 0 ? shape.embedBytes : 0) + (end === shape.numLayers ? shape.headBytes : 0);
}

/** Bytes the whole model needs across the ring (every layer once, embed once, head once). */
export function totalModelBytes(shape: ModelShape): number {
  return stageBytes(shape, 0, shape.numLayers);
}

/** Throws InvalidPlanInputError unless every field is a safe integer in range. */
export function validateModelShape(shape: ModelShape): void {
  const fields: [keyof ModelShape, number][] = [
    ['numLayers', 1],
    ['bytesPerLayer', 1],
    ['embedBytes', 0],
    ['headBytes', 0],
    ['kvBytesPerTokenPerLayer', 0],
    ['contextTokens', 1],
  ];
  for (const [field, min] of fields) {
    const v = shape[field];
    if (!Number.isSafeInteger(v) || v < min) {
      throw new InvalidPlanInputError(`model.${field}`, `${v} must be a safe integer ≥ ${min}`);
    }
  }
  if (!Number.isSafeInteger(totalModelBytes(shape))) {
    throw new InvalidPlanInputError('model', 'total bytes exceed 2^53, expected a byte count JavaScript can hold exactly');
  }
}
