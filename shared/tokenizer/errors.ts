import { RingmeshError } from '../errors.ts';

/** A tokenizer file is truncated, malformed or does not fit the model (vocab size). */
export class TokenizerFormatError extends RingmeshError {
  constructor(
    readonly file: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${detail}`, options);
  }
}

/** An id outside the vocabulary was given to a decoder. */
export class TokenIdRangeError extends RingmeshError {
  constructor(
    readonly id: number,
    readonly vocabSize: number,
  ) {
    super(`token id ${id} is outside the vocabulary (expected 0 ≤ id < ${vocabSize})`);
  }
}
