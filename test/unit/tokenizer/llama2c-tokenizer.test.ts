import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TokenizerFormatError } from '../../../shared/tokenizer/errors.ts';
import { Llama2cTokenizer } from '../../../shared/tokenizer/llama2c-tokenizer.ts';
import { parseLlama2cVocab, serializeLlama2cVocab } from '../../../shared/tokenizer/llama2c-vocab.ts';
import { goldenCases, modelFile } from '../../util/models.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('Llama2cTokenizer on the run.c goldens', () => {
  for (const c of goldenCases()) {
    const tok = Llama2cTokenizer.fromBytes(modelFile(c.tokenizer), c.tokenizer, { expectedVocab: 512 });

    it(`encodes ${JSON.stringify(c.prompt)} to prompt_ids`, () => {
      expect(tok.encode(c.prompt, { bos: true })).toEqual(c.prompt_ids);
    });

    it(`prints ${c.model} / ${JSON.stringify(c.prompt)} as run.c did`, () => {
      const generated = c.generated_ids.at(-1) === 1 ? c.generated_ids.slice(0, -1) : c.generated_ids;
      const ids = [...c.prompt_ids, ...generated];
      expect(tok.decode(ids)).toBe(c.stdout.slice(0, -1));
      // Streaming from the prompt's end gives the same tail, token by token.
      const d = tok.createDecoder(c.prompt_ids);
      const tail = generated.map((id) => d.push(id)).join('') + d.end();
      expect(tok.decode(c.prompt_ids) + tail).toBe(c.stdout.slice(0, -1));
    });
  }
});

describe('Llama2cTokenizer rules', () => {
  // <unk>, <s>, </s>, 256 byte tokens, then a few pieces with scores.
  const pieces = [enc('<unk>'), enc('\n<s>\n'), enc('\n</s>\n')];
  for (let b = 0; b < 256; b++) pieces.push(enc(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`));
  const extra = [' ', 'a', 'b', 'ab', ' ab', 'é', ' a'];
  const scores = [...pieces.map(() => 0), -5, -1, -1, -2, -3, -1, -4];
  const vocab = parseLlama2cVocab(serializeLlama2cVocab([...pieces, ...extra.map(enc)], scores), 'rules');
  const tok = new Llama2cTokenizer(vocab);
  const id = (s: string): number => 259 + extra.indexOf(s);

  it('adds BOS and a dummy space prefix, then merges best-scoring pairs first', () => {
    // ' ','a','b' → 'ab' (-2) beats ' a' (-4) → ' ','ab' → ' ab'
    expect(tok.encode('ab', { bos: true })).toEqual([1, id(' ab')]);
    expect(tok.encode('', { bos: true })).toEqual([1]);
    expect(tok.encode('', { bos: false })).toEqual([]);
  });

  it('looks up whole UTF-8 codepoints and falls back to byte tokens (+3)', () => {
    expect(tok.encode('é', { bos: false })).toEqual([id(' '), id('é')]);
    const ü = [...enc('ü')].map((b) => b + 3);
    expect(tok.encode('ü', { bos: false })).toEqual([id(' '), ...ü]);
  });

  it('decodes byte tokens back into multi-byte UTF-8, streaming', () => {
    const ids = tok.encode('aü', { bos: true });
    expect(tok.decode(ids)).toBe('aü');
    const d = tok.createDecoder([1]);
    const parts = ids.slice(1).map((i) => d.push(i));
    expect(parts.at(-2)).toBe(''); // first byte of ü is held back
    expect(parts.join('') + d.end()).toBe('aü');
  });

  it('strictRunC drops raw high bytes like run.c, keeps printable and whitespace bytes', () => {
    const strict = new Llama2cTokenizer(vocab, { strictRunC: true });
    expect(strict.decode([1, 0xc3 + 3, 0xbc + 3, 0x0a + 3, 0x41 + 3, 0x07 + 3])).toBe('\nA');
  });

  it('rejects truncated files and vocab size mismatches', () => {
    const bytes = modelFile('aidreams-tok512.bin');
    expect(() => Llama2cTokenizer.fromBytes(bytes.subarray(0, 100), 't.bin', { expectedVocab: 512 })).toThrow(TokenizerFormatError);
    expect(() => Llama2cTokenizer.fromBytes(bytes, 't.bin', { expectedVocab: 32000 })).toThrow(TokenizerFormatError);
    expect(() => Llama2cTokenizer.fromBytes(bytes, 't.bin', { expectedVocab: 500 })).toThrow(/vocab size mismatch/);
    expect(() => Llama2cTokenizer.fromBytes(new Uint8Array(2), 't.bin')).toThrow(TokenizerFormatError);
  });
});

describe('fast merge', () => {
  it("gives exactly what run.c's quadratic merge loop gives", () => {
    const vocab = parseLlama2cVocab(modelFile('aidreams-tok512.bin'), 'tok', 512);
    const tok = new Llama2cTokenizer(vocab);
    const alphabet = fc.constantFrom(...'the machine dreams of probability, a   gentle hum. ÄéΩ✓\n'.split(''));
    fc.assert(
      fc.property(
        fc.array(alphabet, { maxLength: 200 }).map((a) => a.join('')),
        (text) => {
          const fast = tok.encode(text, { bos: true });
          // Re-run from the pre-merge tokens: encode with no merges possible = the byte/codepoint list.
          const raw = new Llama2cTokenizer({ ...vocab, scores: vocab.scores.map(() => -2e10) }).encode(text, { bos: true });
          expect(fast).toEqual(tok.mergeQuadratic(raw));
        },
      ),
      { seed: 2, numRuns: 200 },
    );
  });
});
