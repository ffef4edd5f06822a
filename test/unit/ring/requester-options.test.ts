import { describe, expect, it } from 'vitest';
import { toRequestSpec, type GenerateOptions } from '../../../shared/ring/requester.ts';
import { InvalidGenerateOptionsError } from '../../../shared/ring/errors.ts';

describe('toRequestSpec', () => {
  it('fills defaults: greedy, no top-p/k, a picked seed, no stop ids, no deadline', () => {
    expect(toRequestSpec([1, 2], { maxTokens: 5 }, 100, () => 42)).toEqual({
      prompt: [1, 2],
      maxTokens: 5,
      stop: [],
      sampling: { temperature: 0, topP: 1, topK: 0, seed: 42 },
    });
  });

  it('keeps given options and turns timeoutMs into an absolute deadline', () => {
    const spec = toRequestSpec([1], { maxTokens: 2, temperature: 0.7, topP: 0.9, topK: 40, seed: 3, stop: [2], timeoutMs: 50 }, 100, () => 0);
    expect(spec).toEqual({ prompt: [1], maxTokens: 2, stop: [2], sampling: { temperature: 0.7, topP: 0.9, topK: 40, seed: 3 }, deadlineAt: 150 });
  });

  it.each<[string, readonly number[], GenerateOptions]>([
    ['empty prompt', [], { maxTokens: 1 }],
    ['negative token id', [-1], { maxTokens: 1 }],
    ['maxTokens 0', [1], { maxTokens: 0 }],
    ['negative temperature', [1], { maxTokens: 1, temperature: -0.1 }],
    ['topP 0', [1], { maxTokens: 1, topP: 0 }],
    ['fractional topK', [1], { maxTokens: 1, topK: 1.5 }],
    ['fractional seed', [1], { maxTokens: 1, seed: 0.5 }],
    ['bad stop id', [1], { maxTokens: 1, stop: [1.5] }],
    ['zero timeout', [1], { maxTokens: 1, timeoutMs: 0 }],
  ])('rejects %s', (_name, prompt, options) => {
    expect(() => toRequestSpec(prompt, options, 0, () => 1)).toThrow(InvalidGenerateOptionsError);
  });
});

describe('model limits', () => {
  it('refuses prompts outside the vocabulary or the context up front', () => {
    const limits = { vocabSize: 512, contextTokens: 128 };
    expect(() => toRequestSpec([1, 512], { maxTokens: 4 }, 0, () => 1, limits)).toThrow(InvalidGenerateOptionsError);
    expect(() => toRequestSpec([1, 2], { maxTokens: 128 }, 0, () => 1, limits)).toThrow(InvalidGenerateOptionsError);
    expect(toRequestSpec([1, 2], { maxTokens: 127 }, 0, () => 1, limits).maxTokens).toBe(127);
  });
});
