import { describe, expect, it } from 'vitest';
import { fillNormal, Xoshiro128 } from '../../../shared/random/xoshiro128.ts';
import { byteLevelVocab } from '../../../shared/tokenizer/byte-level-vocab.ts';
import { Llama2cTokenizer } from '../../../shared/tokenizer/llama2c-tokenizer.ts';
import { serializeLlama2cVocab } from '../../../shared/tokenizer/llama2c-vocab.ts';

describe('Xoshiro128', () => {
  it('is deterministic per seed and pinned (golden values)', () => {
    const a = new Xoshiro128(42);
    const seq = Array.from({ length: 4 }, () => a.nextU32());
    const b = new Xoshiro128(42);
    expect(Array.from({ length: 4 }, () => b.nextU32())).toEqual(seq);
    expect(new Xoshiro128(43).nextU32()).not.toBe(seq[0]);
    // Pinned: demo models and seeded tests everywhere depend on this exact stream.
    expect(seq).toEqual([2837322924, 544945897, 479756282, 3500138142]);
  });

  it('gives uniform floats in [0, 1) and normals with the asked spread', () => {
    const r = new Xoshiro128(1);
    const u = Array.from({ length: 10000 }, () => r.nextFloat());
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    expect(Math.abs(u.reduce((s, x) => s + x, 0) / u.length - 0.5)).toBeLessThan(0.02);
    const n = fillNormal(new Xoshiro128(2), new Float32Array(20001), 0.02);
    const mean = n.reduce((s, x) => s + x, 0) / n.length;
    const std = Math.sqrt(n.reduce((s, x) => s + (x - mean) ** 2, 0) / n.length);
    expect(Math.abs(mean)).toBeLessThan(0.001);
    expect(Math.abs(std - 0.02)).toBeLessThan(0.001);
  });
});

describe('byte-level demo vocab', () => {
  it('has llama2.c ids (specials, bytes at byte + 3) and round-trips any text', () => {
    const v = byteLevelVocab(600);
    expect(v.pieces).toHaveLength(600);
    const tok = Llama2cTokenizer.fromBytes(serializeLlama2cVocab(v.pieces, v.scores), 'demo', { expectedVocab: 600 });
    expect(tok.encode('é', { bos: false }).slice(1)).toEqual([0xc3 + 3, 0xa9 + 3]);
    for (const text of ['the cat sat on the mat', 'ünïcødé ✓ 𝄞', 'tabs\tand\nnewlines']) {
      const ids = tok.encode(text, { bos: true });
      expect(tok.decode(ids)).toBe(text);
    }
    // Bigrams merge: fewer tokens than bytes for English.
    expect(tok.encode('the then', { bos: false }).length).toBeLessThan(9);
    expect(byteLevelVocab(259).pieces).toHaveLength(259);
  });
});
