import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TokenizerFormatError } from '../../../shared/tokenizer/errors.ts';
import { createTokenizer } from '../../../shared/tokenizer/create-tokenizer.ts';
import { byteLevelVocab } from '../../../shared/tokenizer/byte-level-vocab.ts';
import { HfTokenizer } from '../../../shared/tokenizer/hf-tokenizer.ts';
import { Llama2cTokenizer } from '../../../shared/tokenizer/llama2c-tokenizer.ts';
import { parseLlama2cVocab, serializeLlama2cVocab } from '../../../shared/tokenizer/llama2c-vocab.ts';
import { llama2cVocabToHfJson } from '../../util/hf-tokenizer-json.ts';
import { modelFile } from '../../util/models.ts';

// The same byte-level vocab as a llama2.c tokenizer.bin and as an HF tokenizer.json.
const v = byteLevelVocab(420);
const binBytes = serializeLlama2cVocab(v.pieces, v.scores);
const l2c = Llama2cTokenizer.fromBytes(binBytes, 'demo.bin', { eos: [2] });
const json = new TextEncoder().encode(JSON.stringify(llama2cVocabToHfJson({ maxTokenLength: 16, pieces: v.pieces, scores: Float32Array.from(v.scores) })));
const entry = {
  kind: 'hf-json',
  file: 'tokenizer.json',
  bytes: json.length,
  sha256: '0'.repeat(64),
  bos: 1,
  eos: [2],
  addBos: true,
  chatTemplate: null,
} as const;

describe('HfTokenizer', () => {
  const hf = createTokenizer(entry, json);

  it('encodes like the equivalent llama2.c tokenizer, BOS per addBos', () => {
    expect(hf).toBeInstanceOf(HfTokenizer);
    for (const text of ['the theory', 'ünï ✓', 'a  b\n', '']) expect(hf.encode(text)).toEqual(l2c.encode(text));
    expect(hf.encode('the', { bos: false })[0]).not.toBe(1);
  });

  it('streams text, holding back incomplete UTF-8 until its last byte', () => {
    const ids = hf.encode('to ✓ it', { bos: false });
    const d = hf.createDecoder([1]);
    const parts = ids.map((id) => d.push(id));
    expect(parts.join('') + d.end()).toBe('to ✓ it');
    expect(parts.some((p) => p.includes('\uFFFD'))).toBe(false);
    expect(hf.decode([])).toBe('');
  });

  it('rejects bytes that are not a tokenizer.json', () => {
    expect(() => createTokenizer(entry, new TextEncoder().encode('{not json'))).toThrow(TokenizerFormatError);
    expect(() => createTokenizer(entry, new TextEncoder().encode('{"model": {"type": "Nope"}}'))).toThrow(TokenizerFormatError);
  });

  it('createTokenizer gives a llama2.c tokenizer for kind llama2c', () => {
    const t = createTokenizer({ ...entry, kind: 'llama2c', file: 'tokenizer.bin' }, binBytes, 420);
    expect(t).toBeInstanceOf(Llama2cTokenizer);
    expect(t.eos).toEqual([2]);
    expect(() => createTokenizer({ ...entry, kind: 'llama2c', file: 'tokenizer.bin' }, binBytes, 500)).toThrow(TokenizerFormatError);
  });
});

describe('tokenizer.json generated from a llama2.c vocab', () => {
  it("encodes every text exactly like run.c's algorithm on the real aidreams vocab", () => {
    const vocab = parseLlama2cVocab(modelFile('aidreams-tok512.bin'), 'tok', 512);
    const l = new Llama2cTokenizer(vocab);
    const h = new HfTokenizer(llama2cVocabToHfJson(vocab), { bos: 1, eos: [1], addBos: true });
    const alphabet = fc.constantFrom(...'the machine dreams of probability, a   gentle hum. ÄéΩ✓\n\tXYZqj0123456789'.split(''));
    fc.assert(
      fc.property(
        fc.array(alphabet, { maxLength: 80 }).map((a) => a.join('')),
        (text) => {
          expect(h.encode(text)).toEqual(l.encode(text));
        },
      ),
      { seed: 3, numRuns: 300 },
    );
  });
});
