import { CheckpointFormatError } from './errors.ts';
import type { GgufFile } from './gguf-file.ts';

/** What the package's tokenizer entry needs, with tokenizer.json's bytes. */
export interface GgufTokenizer {
  readonly data: Uint8Array;
  readonly bos: number | null;
  readonly eos: number[];
  readonly addBos: boolean;
  readonly chatTemplate: string | null;
}

// llama.cpp's token types (llama_token_type).
const UNKNOWN = 2;
const CONTROL = 3;
const USER_DEFINED = 4;
const BYTE = 6;

/** Pre-tokenizer split patterns of the gpt2-style vocabs we know, by tokenizer.ggml.pre. */
const LLAMA3_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const SPLITS: Record<string, string | null> = { 'llama-bpe': LLAMA3_SPLIT, llama3: LLAMA3_SPLIT, qwen2: QWEN2_SPLIT, default: null, 'gpt-2': null };

/**
 * The GGUF's vocab as a Hugging Face tokenizer.json (we run it with @huggingface/tokenizers):
 * - tokenizer.ggml.model "llama" (SentencePiece): BPE with byte fallback, "▁" for spaces and a
 *   prepended "▁", merges ranked by the merged token's score — how Hugging Face converts Llama's
 *   sentencepiece model; control/unknown/user-defined tokens become special added tokens;
 * - "gpt2" (byte-level BPE): tokenizer.ggml.merges, the split pattern named by tokenizer.ggml.pre.
 */
export function ggufTokenizer(g: GgufFile): GgufTokenizer {
  const m = g.metadata;
  const model = m['tokenizer.ggml.model'];
  const tokens = m['tokenizer.ggml.tokens'] as string[];
  const types = (m['tokenizer.ggml.token_type'] as number[] | undefined) ?? [];
  const id = (key: string): number | null => {
    const v = m[`tokenizer.ggml.${key}`];
    return typeof v === 'number' && v >= 0 && v < tokens.length ? v : null;
  };
  const added = tokens.flatMap((content, i) => {
    const t = types[i];
    return t === CONTROL || t === USER_DEFINED || t === UNKNOWN
      ? [{ id: i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: t !== USER_DEFINED }]
      : [];
  });
  let json: Record<string, unknown>;
  if (model === 'llama') json = sentencePieceJson(g, tokens, types, added, id('unknown_token_id'));
  else if (model === 'gpt2') json = byteLevelJson(g, tokens, added);
  else throw new CheckpointFormatError(g.file, `tokenizer.ggml.model ${String(model)} unsupported (expected llama or gpt2)`);
  const bos = id('bos_token_id');
  const eos = [...new Set([id('eos_token_id'), id('eot_token_id')].filter((x): x is number => x !== null))];
  const addBosMeta = m['tokenizer.ggml.add_bos_token'];
  const template = m['tokenizer.chat_template'];
  return {
    data: new TextEncoder().encode(JSON.stringify(json)),
    bos,
    eos,
    // llama.cpp adds BOS for SentencePiece vocabs unless the file says otherwise.
    addBos: bos !== null && (typeof addBosMeta === 'boolean' ? addBosMeta : model === 'llama'),
    chatTemplate: typeof template === 'string' ? template : null,
  };
}

type Added = { id: number; content: string }[];

function sentencePieceJson(g: GgufFile, tokens: string[], types: number[], added: Added, unk: number | null): Record<string, unknown> {
  const scores = (g.metadata['tokenizer.ggml.scores'] as number[] | undefined) ?? [];
  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => {
    if (!(t in vocab)) vocab[t] = i;
  });
  const mergeable = (i: number | undefined): boolean => i !== undefined && types[i] !== CONTROL && types[i] !== UNKNOWN && types[i] !== BYTE;
  const merges: { pair: [string, string]; score: number; id: number }[] = [];
  tokens.forEach((s, i) => {
    if (!mergeable(i)) return;
    const chars = [...s];
    for (let k = 1; k < chars.length; k++) {
      const left = chars.slice(0, k).join('');
      const right = chars.slice(k).join('');
      if (mergeable(vocab[left]) && mergeable(vocab[right])) merges.push({ pair: [left, right], score: scores[i] ?? 0, id: i });
    }
  });
  merges.sort((a, b) => b.score - a.score || a.id - b.id);
  const prefix = g.metadata['tokenizer.ggml.add_space_prefix'] !== false;
  return {
    version: '1.0',
    added_tokens: added,
    normalizer: {
      type: 'Sequence',
      normalizers: [...(prefix ? [{ type: 'Prepend', prepend: '▁' }] : []), { type: 'Replace', pattern: { String: ' ' }, content: '▁' }],
    },
    pre_tokenizer: null,
    post_processor: null,
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        ...(prefix ? [{ type: 'Strip', content: ' ', start: 1, stop: 0 }] : []),
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: unk === null ? null : tokens[unk],
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges: merges.map((x) => x.pair),
    },
  };
}

function byteLevelJson(g: GgufFile, tokens: string[], added: Added): Record<string, unknown> {
  const pre = String(g.metadata['tokenizer.ggml.pre'] ?? 'default');
  const split = SPLITS[pre];
  if (split === undefined) {
    throw new CheckpointFormatError(g.file, `tokenizer.ggml.pre ${pre} unsupported (expected one of ${Object.keys(SPLITS).join(', ')})`);
  }
  const merges = g.metadata['tokenizer.ggml.merges'];
  if (!Array.isArray(merges)) throw new CheckpointFormatError(g.file, 'metadata tokenizer.ggml.merges is missing (a gpt2 vocab needs its merges)');
  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => {
    if (!(t in vocab)) vocab[t] = i;
  });
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: split === null };
  return {
    version: '1.0',
    added_tokens: added,
    normalizer: null,
    pre_tokenizer:
      split === null
        ? byteLevel
        : { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: split }, behavior: 'Isolated', invert: false }, byteLevel] },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: pre === 'llama-bpe' || pre === 'llama3',
      vocab,
      merges: (merges as string[]).map((x) => x.split(' ')),
    },
  };
}
