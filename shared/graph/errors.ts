import { RingmeshError } from '../errors.ts';

/** A stage was asked for layers outside [0, numLayers) or an empty range. */
export class InvalidLayerRangeError extends RingmeshError {
  constructor(
    readonly start: number,
    readonly end: number,
    readonly numLayers: number,
  ) {
    super(`layer range [${start}, ${end}): expected 0 <= start < end <= ${numLayers}`);
  }
}

/** The manifest asks for a RoPE scaling kind the graph builder does not implement. */
export class UnsupportedRopeScalingError extends RingmeshError {
  constructor(
    readonly model: string,
    readonly scalingType: string,
  ) {
    super(`model ${model}: rope scaling "${scalingType}" is not supported, expected none, "linear" or "llama3"`);
  }
}

/** The manifest's tensor table lacks a tensor the graph needs, or its shape is not the expected one. */
export class StageWeightError extends RingmeshError {
  constructor(
    readonly tensor: string,
    detail: string,
  ) {
    super(`tensor ${tensor}: ${detail}`);
  }
}
