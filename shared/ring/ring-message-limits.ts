// What a well-formed ring message of one model looks like. Every message a remote member sends is
// checked against the manifest before it reaches a stage or the requester: a token id past the
// vocabulary, a hidden state of the wrong width or a prefill past the context would otherwise
// reach the engine (or its KV cache) as the remote chose.
import type { ModelManifest } from '../model/manifest.ts';
import type { RingMessage, SessionInit } from './messages.ts';

export interface RingMessageLimits {
  readonly hiddenSize: number;
  readonly vocabSize: number;
  /** Positions a session may reach (prompt + generated). */
  readonly contextTokens: number;
  /** Stop ids a session may carry. */
  readonly maxStopIds: number;
}

export function ringMessageLimits(manifest: ModelManifest, contextTokens?: number): RingMessageLimits {
  const a = manifest.architecture;
  return { hiddenSize: a.hiddenSize, vocabSize: a.vocabSize, contextTokens: contextTokens ?? a.contextLength, maxStopIds: 64 };
}

const isIndex = (n: number, bound: number): boolean => Number.isInteger(n) && n >= 0 && n < bound;

/** Why `m` is not a message of this model, or null when it is. */
export function checkRingMessage(m: RingMessage, l: RingMessageLimits): string | null {
  switch (m.type) {
    case 'prefill': {
      if (!isIndex(m.step, l.contextTokens)) return `prefill step ${m.step} outside [0, ${l.contextTokens})`;
      if (m.tokens.length < 1 || m.tokens.length > l.contextTokens) return `prefill of ${m.tokens.length} tokens, expected 1…${l.contextTokens}`;
      for (const id of m.tokens) if (!isIndex(id, l.vocabSize)) return `prefill token id ${id} outside the vocabulary (${l.vocabSize})`;
      return checkInit(m.init, l);
    }
    case 'activation': {
      if (!isIndex(m.step, l.contextTokens)) return `activation step ${m.step} outside [0, ${l.contextTokens})`;
      if (!Number.isInteger(m.seqLen) || m.seqLen < 1 || m.seqLen > l.contextTokens)
        return `activation of ${m.seqLen} positions, expected 1…${l.contextTokens}`;
      if (m.hidden.length !== m.seqLen * l.hiddenSize) return `activation of ${m.hidden.length} values, expected ${m.seqLen} × ${l.hiddenSize}`;
      return m.init === undefined ? null : checkInit(m.init, l);
    }
    case 'token':
      if (!isIndex(m.step, l.contextTokens)) return `token step ${m.step} outside [0, ${l.contextTokens})`;
      return isIndex(m.tokenId, l.vocabSize) ? null : `token id ${m.tokenId} outside the vocabulary (${l.vocabSize})`;
    case 'end':
    case 'failure':
      return null;
    case 'audit':
      return checkAudit(m, l);
  }
}

function checkAudit(m: Extract<RingMessage, { type: 'audit' }>, l: RingMessageLimits): string | null {
  if (!isIndex(m.step, l.contextTokens)) return `audit step ${m.step} outside [0, ${l.contextTokens})`;
  if (!isIndex(m.stage, 256)) return `audit of stage ${m.stage}`;
  const hidden = (data: Float32Array, seqLen: number): string | null =>
    Number.isInteger(seqLen) && seqLen >= 1 && seqLen <= l.contextTokens && data.length === seqLen * l.hiddenSize
      ? null
      : `audit hidden states of ${data.length} values for ${seqLen} positions`;
  if (m.input.kind === 'tokens') {
    if (m.input.ids.length < 1 || m.input.ids.length > l.contextTokens) return `audit input of ${m.input.ids.length} ids`;
    for (const id of m.input.ids) if (!isIndex(id, l.vocabSize)) return `audit input id ${id} outside the vocabulary`;
  } else {
    const bad = hidden(m.input.data, m.input.seqLen);
    if (bad !== null) return bad;
  }
  if (m.output.kind === 'token') return isIndex(m.output.tokenId, l.vocabSize) ? null : `audit token id ${m.output.tokenId} outside the vocabulary`;
  return hidden(m.output.data, m.output.seqLen);
}

function checkInit(init: SessionInit, l: RingMessageLimits): string | null {
  if (!Number.isInteger(init.maxTokens) || init.maxTokens < 1 || init.maxTokens > l.contextTokens)
    return `maxTokens ${init.maxTokens}, expected 1…${l.contextTokens}`;
  if (init.stop.length > l.maxStopIds) return `${init.stop.length} stop ids, at most ${l.maxStopIds}`;
  for (const id of init.stop) if (!isIndex(id, l.vocabSize)) return `stop id ${id} outside the vocabulary (${l.vocabSize})`;
  const { temperature, topP, topK, seed } = init.sampling;
  if (!(temperature >= 0 && temperature <= 100)) return `temperature ${temperature}, expected 0…100`;
  if (!(topP > 0 && topP <= 1)) return `topP ${topP}, expected (0, 1]`;
  if (!Number.isInteger(topK) || topK < 0 || topK > l.vocabSize) return `topK ${topK}, expected 0…${l.vocabSize}`;
  if (!Number.isInteger(seed)) return `seed ${seed} is not an integer`;
  return null;
}
