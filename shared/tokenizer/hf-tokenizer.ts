import { Tokenizer as HfLibTokenizer } from '@huggingface/tokenizers';
import { TokenizerFormatError } from './errors.ts';
import type { EncodeOptions, Tokenizer, TokenStreamDecoder } from './tokenizer.ts';

export interface HfTokenizerOptions {
  readonly bos: number | null;
  readonly eos: readonly number[];
  readonly addBos: boolean;
}

/** tokenizer.json through @huggingface/tokenizers; BOS is added by us, not the post-processor. */
export class HfTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bos: number | null;
  readonly eos: readonly number[];
  readonly addBos: boolean;
  private readonly lib: HfLibTokenizer;

  constructor(tokenizerJson: unknown, options: HfTokenizerOptions, config: Record<string, unknown> = {}) {
    this.lib = new HfLibTokenizer(tokenizerJson as object, { clean_up_tokenization_spaces: false, ...config });
    this.vocabSize = this.lib.get_vocab(true).size;
    this.bos = options.bos;
    this.eos = options.eos;
    this.addBos = options.addBos;
  }

  static fromBytes(bytes: Uint8Array, file: string, options: HfTokenizerOptions): HfTokenizer {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch (err) {
      throw new TokenizerFormatError(file, 'not valid JSON (expected a tokenizer.json)', { cause: err });
    }
    try {
      return new HfTokenizer(json, options);
    } catch (err) {
      throw new TokenizerFormatError(file, `not a usable tokenizer.json: ${(err as Error).message}`, { cause: err });
    }
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids = this.lib.encode(text, { add_special_tokens: false }).ids;
    return (options.bos ?? this.addBos) && this.bos !== null ? [this.bos, ...ids] : ids;
  }

  /** Streams by re-decoding the tail: decoders (Metaspace, ByteLevel) depend on neighbours. */
  createDecoder(context: readonly number[] = []): TokenStreamDecoder {
    const ids = [...context];
    const text = (): string => this.decode(ids);
    let emitted = text().length;
    const flush = (final: boolean): string => {
      let full = text();
      // Hold back an incomplete UTF-8 sequence (decoded as U+FFFD) until its next bytes arrive.
      if (!final) while (full.endsWith('\uFFFD')) full = full.slice(0, -1);
      const out = full.length > emitted ? full.slice(emitted) : '';
      emitted = Math.max(emitted, full.length);
      return out;
    };
    return {
      push: (id) => {
        ids.push(id);
        return flush(false);
      },
      end: () => flush(true),
    };
  }

  decode(ids: readonly number[]): string {
    // The library rejects an empty list; nothing decodes to nothing.
    return ids.length === 0 ? '' : this.lib.decode([...ids], { skip_special_tokens: true });
  }
}
