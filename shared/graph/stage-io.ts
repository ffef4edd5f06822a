/**
 * Names of a stage graph's inputs and outputs. Dimensions: S = new positions in this run,
 * P = positions already cached, T = P + S. KV caches are [kvHeads, P|T, headDim] (batch 1).
 */
export const StageIo = {
  /** int32 [S] token ids (stage with start = 0). */
  inputIds: 'input_ids',
  /** float32 [S, hidden] from the previous stage. */
  hiddenIn: 'hidden_in',
  /** float32 [S, headDim] RoPE tables for the S new positions (see ropeTables). */
  ropeCos: 'rope_cos',
  ropeSin: 'rope_sin',
  /** float32 [S, T] additive causal mask (see causalMask). */
  attnMask: 'attn_mask',
  /** float32 [S, hidden] for the next stage. */
  hiddenOut: 'hidden_out',
  /** float32 [1, vocab]: logits of the last position (stage with end = numLayers). */
  logits: 'logits',
  pastKey: (layer: number): string => `past_key.${layer}`,
  pastValue: (layer: number): string => `past_value.${layer}`,
  presentKey: (layer: number): string => `present_key.${layer}`,
  presentValue: (layer: number): string => `present_value.${layer}`,
} as const;
