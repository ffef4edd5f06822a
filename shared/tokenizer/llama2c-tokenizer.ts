import { mergeBestPairs } from './best-pair-merge.ts';
import { TokenIdRangeError } from './errors.ts';
import { parseLlama2cVocab, type Llama2cVocab } from './llama2c-vocab.ts';
import type { EncodeOptions, Tokenizer, TokenStreamDecoder } from './tokenizer.ts';

/** run.c's fixed conventions: BOS is id 1; unknown bytes map to id byte + 3. */
const RUNC_BOS = 1;
const BYTE_FALLBACK_OFFSET = 3;
const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

export interface Llama2cTokenizerOptions {
  readonly bos?: number | null;
  readonly eos?: readonly number[];
  readonly addBos?: boolean;
  /**
   * run.c prints a single-byte piece only when C's isprint/isspace accept it, which drops raw bytes
   * ≥ 0x80 and so breaks UTF-8 spelled with `<0xNN>` tokens. By default we keep those bytes (UTF-8
   * decodes); `strictRunC` drops them too, printing byte for byte what run.c prints.
   */
  readonly strictRunC?: boolean;
}

// Bytes → a Map key: one char per byte, so byte strings compare exactly like C's strcmp.
const key = (b: Uint8Array): string => String.fromCharCode(...b);

/** llama2.c's tokenizer.bin, encoding and printing exactly as run.c does. */
export class Llama2cTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bos: number | null;
  readonly eos: readonly number[];
  readonly addBos: boolean;
  private readonly ids = new Map<string, number>();
  /**
   * Each token's bytes as a key string (one char per byte): the pieces themselves are not kept. A
   * Uint8Array per token cost ~36 MiB of JS heap for a 128k vocab (two objects and a native
   * allocation each), in every peer that holds the tokenizer; keys, map and scores cost ~8 MiB.
   */
  private readonly keys: string[];
  private readonly scores: Float32Array;
  private readonly strict: boolean;

  constructor(vocab: Llama2cVocab, options: Llama2cTokenizerOptions = {}) {
    this.vocabSize = vocab.pieces.length;
    this.scores = vocab.scores;
    this.bos = options.bos === undefined ? RUNC_BOS : options.bos;
    this.eos = options.eos ?? [RUNC_BOS];
    this.addBos = options.addBos ?? true;
    this.strict = options.strictRunC ?? false;
    this.keys = vocab.pieces.map(key);
    // First id wins on duplicate pieces (run.c's bsearch order is unspecified there).
    this.keys.forEach((k, id) => {
      if (!this.ids.has(k)) this.ids.set(k, id);
    });
  }

  static fromBytes(bytes: Uint8Array, file = 'tokenizer.bin', options: Llama2cTokenizerOptions & { expectedVocab?: number } = {}): Llama2cTokenizer {
    return new Llama2cTokenizer(parseLlama2cVocab(bytes, file, options.expectedVocab), options);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const tokens: number[] = [];
    if ((options.bos ?? this.addBos) && this.bos !== null) tokens.push(this.bos);
    const utf8 = new TextEncoder().encode(text);
    // run.c's dummy prefix: a lone space token before any non-empty text (-1 if absent, as in C).
    if (utf8.length > 0) tokens.push(this.ids.get(' ') ?? -1);
    let start = 0;
    for (let i = 0; i < utf8.length; i++) {
      const next = utf8[i + 1];
      // Group a codepoint's bytes (at most 4), as run.c does, before looking it up.
      if (next !== undefined && (next & 0xc0) === 0x80 && i + 1 - start < 4) continue;
      const chunk = utf8.subarray(start, i + 1);
      const id = this.ids.get(key(chunk));
      if (id !== undefined) tokens.push(id);
      else for (const b of chunk) tokens.push(b + BYTE_FALLBACK_OFFSET);
      start = i + 1;
    }
    return this.merge(tokens);
  }

  /** Greedy merges exactly as run.c: best-scoring adjacent pair first, leftmost on ties. */
  private merge(tokens: number[]): number[] {
    return mergeBestPairs(
      tokens,
      (l, r) => this.ids.get(this.pieceKey(l) + this.pieceKey(r)),
      (id) => this.scores[id] as number,
    );
  }

  /** run.c's quadratic loop, kept as the executable definition `merge` is tested against. */
  mergeQuadratic(tokens: number[]): number[] {
    for (;;) {
      let bestScore = -1e10;
      let bestId = -1;
      let bestIdx = -1;
      for (let i = 0; i < tokens.length - 1; i++) {
        const id = this.ids.get(this.pieceKey(tokens[i] as number) + this.pieceKey(tokens[i + 1] as number));
        if (id !== undefined && (this.scores[id] as number) > bestScore) {
          bestScore = this.scores[id] as number;
          bestId = id;
          bestIdx = i;
        }
      }
      if (bestIdx === -1) return tokens;
      tokens.splice(bestIdx, 2, bestId);
    }
  }

  private pieceKey(id: number): string {
    return this.keys[id] ?? '';
  }

  /** The bytes run.c prints for `id` following `prev` (null at sequence start). */
  tokenBytes(id: number, prev: number | null): Uint8Array {
    const k = this.keys[id];
    if (k === undefined) throw new TokenIdRangeError(id, this.vocabSize);
    let piece = Uint8Array.from(k, (c) => c.charCodeAt(0));
    if (prev === RUNC_BOS && piece[0] === 0x20) piece = piece.subarray(1);
    const byte = BYTE_TOKEN.exec(key(piece));
    if (byte !== null) piece = Uint8Array.of(parseInt(byte[1] as string, 16));
    if (piece.length === 1 && !this.printable(piece[0] as number)) return new Uint8Array(0);
    return piece;
  }

  private printable(b: number): boolean {
    const isprint = b >= 0x20 && b <= 0x7e;
    const isspace = b === 0x20 || (b >= 0x09 && b <= 0x0d);
    return isprint || isspace || (!this.strict && b >= 0x80);
  }

  createDecoder(context: readonly number[] = []): TokenStreamDecoder {
    let prev: number | null = context.length > 0 ? (context[context.length - 1] as number) : null;
    const utf8 = new TextDecoder('utf-8');
    return {
      push: (id) => {
        // A sequence-start BOS is never printed (run.c prints only the token after each position).
        const bytes = prev === null && id === this.bos ? new Uint8Array(0) : this.tokenBytes(id, prev);
        prev = id;
        return utf8.decode(bytes, { stream: true });
      },
      end: () => utf8.decode(),
    };
  }

  decode(ids: readonly number[]): string {
    const d = this.createDecoder();
    return ids.map((id) => d.push(id)).join('') + d.end();
  }
}
