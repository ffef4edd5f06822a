/** Special pieces at ids 0..2, as llama2.c's convention expects (BOS = 1, EOS = 2). */
const SPECIALS = ['<unk>', '\n<s>\n', '\n</s>\n'];
// Frequent English bigrams: merges the demo tokenizer can actually apply to text.
const BIGRAMS = ' t th he e  a in er an  s re on  o at en nd ti es or te of ed is it al ar st to nt ng se ha as ou io le ve co me de hi ri ro ic ne ea ra ce';

/**
 * A byte-level vocab in llama2.c tokenizer form: <unk>, <s>, </s>, the 256 `<0xNN>` byte tokens
 * (ids 3..258, so run.c's byte fallback id = byte + 3 holds), then — as far as `vocabSize` allows —
 * the 95 printable ASCII characters, common bigrams (mergeable, higher score first), and
 * `<extra_N>` fillers that no text encodes to.
 */
export function byteLevelVocab(vocabSize: number): { pieces: Uint8Array[]; scores: number[] } {
  const enc = new TextEncoder();
  const strings: string[] = [...SPECIALS];
  for (let b = 0; b < 256; b++) strings.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  const extra: string[] = [];
  for (let c = 0x20; c < 0x7f; c++) extra.push(String.fromCharCode(c));
  for (let i = 0; i + 1 < BIGRAMS.length; i += 3) extra.push(BIGRAMS.slice(i, i + 2));
  const scores = strings.map(() => 0);
  for (const s of extra) {
    if (strings.length >= vocabSize) break;
    strings.push(s);
    scores.push(s.length === 1 ? 0 : -strings.length); // earlier bigram = better merge
  }
  for (let n = 0; strings.length < vocabSize; n++) {
    strings.push(`<extra_${n}>`);
    scores.push(-1e9);
  }
  return { pieces: strings.slice(0, vocabSize).map((s) => enc.encode(s)), scores: scores.slice(0, vocabSize) };
}
