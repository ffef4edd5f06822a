/** Turns generated ids into text as they arrive; multi-byte characters are held until complete. */
export interface TokenStreamDecoder {
  /** Text newly printable after `id` (may be empty while a UTF-8 sequence is incomplete). */
  push(id: number): string;
  /** Whatever is still held back (an incomplete sequence becomes U+FFFD). */
  end(): string;
}

export interface EncodeOptions {
  /** Prepend the begin-of-sequence id (default: the tokenizer's `addBos`). */
  readonly bos?: boolean;
}

/**
 * Text ↔ token ids for one model. Implementations: `Llama2cTokenizer` (llama2.c tokenizer.bin,
 * bit-exact with run.c) and `HfTokenizer` (tokenizer.json).
 */
export interface Tokenizer {
  readonly vocabSize: number;
  readonly bos: number | null;
  /** Ids that end generation. */
  readonly eos: readonly number[];
  /** Whether `encode` adds BOS by default. */
  readonly addBos: boolean;
  encode(text: string, options?: EncodeOptions): number[];
  /**
   * A streaming decoder. `context` are ids already in the sequence before the first pushed id
   * (e.g. the prompt, whose text the caller printed itself); they affect spacing rules only.
   */
  createDecoder(context?: readonly number[]): TokenStreamDecoder;
  /** All of `ids` as text, as the stream decoder would print it. */
  decode(ids: readonly number[]): string;
}
