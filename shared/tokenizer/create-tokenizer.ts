import type { TokenizerEntry } from '../model/manifest.ts';
import { HfTokenizer } from './hf-tokenizer.ts';
import { Llama2cTokenizer } from './llama2c-tokenizer.ts';
import type { Tokenizer } from './tokenizer.ts';

/** The tokenizer a manifest's entry describes, from its (verified) file bytes. */
export function createTokenizer(entry: TokenizerEntry, bytes: Uint8Array, expectedVocab?: number): Tokenizer {
  const options = { bos: entry.bos, eos: entry.eos, addBos: entry.addBos };
  switch (entry.kind) {
    case 'llama2c':
      return Llama2cTokenizer.fromBytes(bytes, entry.file, expectedVocab === undefined ? options : { ...options, expectedVocab });
    case 'hf-json':
      return HfTokenizer.fromBytes(bytes, entry.file, options);
  }
}
