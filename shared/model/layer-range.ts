/** Layers [start, end) of the model. start = 0 adds the embedding; end = numLayers adds norm + head. */
export interface LayerRange {
  readonly start: number;
  readonly end: number;
}
