import { TokenizerFormatError } from './errors.ts';

/** A parsed llama2.c tokenizer.bin: per token its raw bytes (views into the file's bytes) and merge score. */
export interface Llama2cVocab {
  readonly maxTokenLength: number;
  readonly pieces: readonly Uint8Array[];
  readonly scores: Float32Array;
}

/**
 * Parses tokenizer.bin: int32 max_token_length, then per token float32 score, int32 length and the
 * bytes. The file does not store its vocab size; `expectedVocab` (the checkpoint's) must match the
 * number of tokens exactly, or the tokenizer belongs to another model.
 */
export function parseLlama2cVocab(bytes: Uint8Array, file: string, expectedVocab?: number): Llama2cVocab {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4) throw new TokenizerFormatError(file, `truncated: ${bytes.length} bytes, expected at least a 4-byte header`);
  const maxTokenLength = view.getInt32(0, true);
  if (maxTokenLength <= 0 || maxTokenLength > 1 << 16) {
    throw new TokenizerFormatError(file, `max_token_length ${maxTokenLength} is not a llama2.c tokenizer header (expected 1..65536)`);
  }
  const pieces: Uint8Array[] = [];
  const scores: number[] = [];
  let at = 4;
  while (at < bytes.length && (expectedVocab === undefined || pieces.length < expectedVocab)) {
    if (at + 8 > bytes.length) throw new TokenizerFormatError(file, `truncated in token ${pieces.length} header at byte ${at}`);
    const score = view.getFloat32(at, true);
    const len = view.getInt32(at + 4, true);
    if (len < 0 || len > maxTokenLength) {
      throw new TokenizerFormatError(file, `token ${pieces.length} has length ${len}, expected 0..${maxTokenLength}`);
    }
    if (at + 8 + len > bytes.length) throw new TokenizerFormatError(file, `truncated in token ${pieces.length} bytes at byte ${at + 8}`);
    pieces.push(bytes.subarray(at + 8, at + 8 + len)); // a view: a copy per token is 128k allocations for a Llama-3 vocab
    scores.push(score);
    at += 8 + len;
  }
  if (expectedVocab !== undefined && (pieces.length !== expectedVocab || at !== bytes.length)) {
    const found = pieces.length < expectedVocab ? `${pieces.length} tokens` : `more than ${expectedVocab} tokens (${bytes.length - at} bytes left over)`;
    throw new TokenizerFormatError(file, `vocab size mismatch: the model has ${expectedVocab} tokens, the tokenizer ${found}`);
  }
  if (pieces.length === 0) throw new TokenizerFormatError(file, 'holds no tokens');
  return { maxTokenLength, pieces, scores: Float32Array.from(scores) };
}

/** Writes a vocab in tokenizer.bin format (demo models, tests). */
export function serializeLlama2cVocab(pieces: readonly Uint8Array[], scores: ArrayLike<number>): Uint8Array {
  const maxLen = pieces.reduce((m, p) => Math.max(m, p.length), 1);
  const total = 4 + pieces.reduce((s, p) => s + 8 + p.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setInt32(0, maxLen, true);
  let at = 4;
  pieces.forEach((p, i) => {
    view.setFloat32(at, scores[i] ?? 0, true);
    view.setInt32(at + 4, p.length, true);
    out.set(p, at + 8);
    at += 8 + p.length;
  });
  return out;
}
