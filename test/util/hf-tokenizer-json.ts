import type { Llama2cVocab } from '../../shared/tokenizer/llama2c-vocab.ts';

const SPECIAL_NAMES = ['<unk>', '<s>', '</s>'];
const BYTE_TOKEN = /^<0x[0-9A-F]{2}>$/;

/**
 * A Hugging Face tokenizer.json equivalent to a llama2.c (sentencepiece-exported) vocab, laid out
 * like Llama-2's: BPE with byte_fallback, spaces as "▁" with a "▁" prepended, merges ranked by the
 * merged token's score (best first, then lower id), ids 0..2 special.
 */
export function llama2cVocabToHfJson(vocab: Llama2cVocab): Record<string, unknown> {
  const dec = new TextDecoder();
  const strings = vocab.pieces.map((p, id) => (id < 3 ? (SPECIAL_NAMES[id] as string) : dec.decode(p).replaceAll(' ', '▁')));
  const ids: Record<string, number> = {};
  strings.forEach((s, id) => {
    if (!(s in ids)) ids[s] = id;
  });
  const merges: { pair: [string, string]; score: number; id: number }[] = [];
  strings.forEach((s, id) => {
    if (id < 3 || BYTE_TOKEN.test(s)) return;
    const chars = [...s];
    for (let k = 1; k < chars.length; k++) {
      const left = chars.slice(0, k).join('');
      const right = chars.slice(k).join('');
      const l = ids[left];
      const r = ids[right];
      if (l !== undefined && r !== undefined && l >= 3 && r >= 3) merges.push({ pair: [left, right], score: vocab.scores[id] as number, id });
    }
  });
  merges.sort((a, b) => b.score - a.score || a.id - b.id);
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_NAMES.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '▁' },
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab: ids,
      merges: merges.map((m) => m.pair),
    },
  };
}
