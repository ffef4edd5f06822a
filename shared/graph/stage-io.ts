/**
 * Names of a stage graph's inputs and outputs. Dimensions: S = new positions in this run,
 * P = positions already cached, T = P + S. KV caches (batch 1) are, by the graph's `kvCache` mode:
 * 'present' — past [kvHeads, P, headDim] in, present [kvHeads, T, headDim] out (fed back as the
 * next past; suits a cache that stays on the GPU); 'append' — past [P, kvHeads, headDim] in, only
 * the S new rows [S, kvHeads, headDim] out (the caller appends them: no cache-sized output per run).
 * KV tensors are float32, or float16 in a graph built with `kvDtype: 'fp16'`.
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
  /**
   * int32 [R]: which of the S rows the last stage returns logits for (stage with end = numLayers):
   * the last one for a single session; each session's last one when several are packed into a run.
   */
  logitRows: 'logit_rows',
  /** float32 [R, vocab]: logits of the `logitRows` rows (stage with end = numLayers). */
  logits: 'logits',
  /** float32 [R, 1]: log Σ exp of each `logits` row (a token's logprob is its logit minus this). */
  logSumExp: 'logits_lse',
  pastKey: (layer: number): string => `past_key.${layer}`,
  pastValue: (layer: number): string => `past_value.${layer}`,
  presentKey: (layer: number): string => `present_key.${layer}`,
  presentValue: (layer: number): string => `present_value.${layer}`,
  /** 'append' mode: the keys/values of the S new positions, [S, kvHeads, headDim]. */
  newKey: (layer: number): string => `new_key.${layer}`,
  newValue: (layer: number): string => `new_value.${layer}`,
} as const;
