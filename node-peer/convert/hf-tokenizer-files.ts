import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TokenizerFormatError } from '../../shared/tokenizer/errors.ts';
import { HfTokenizer } from '../../shared/tokenizer/hf-tokenizer.ts';
import { TokenizerMissingError } from './errors.ts';

export interface HfTokenizerFiles {
  readonly data: Uint8Array;
  readonly bos: number | null;
  readonly eos: number[];
  readonly addBos: boolean;
  readonly chatTemplate: string | null;
}

type TokenRef = string | { content?: string } | null | undefined;

/**
 * Reads tokenizer.json (required) with tokenizer_config.json and generation_config.json
 * (optional): BOS/EOS ids, whether BOS is added, the chat template. The tokenizer must fit the
 * model: no id at or past `vocabSize`.
 */
export async function readHfTokenizerFiles(dir: string, vocabSize: number): Promise<HfTokenizerFiles> {
  const tokPath = join(dir, 'tokenizer.json');
  const data = await readFile(tokPath).then(
    (b) => new Uint8Array(b.buffer, b.byteOffset, b.length),
    () => {
      throw new TokenizerMissingError(tokPath, 'missing: a Hugging Face checkpoint needs its tokenizer.json');
    },
  );
  const config = await readJson(join(dir, 'tokenizer_config.json'));
  const generation = await readJson(join(dir, 'generation_config.json'));
  const probe = HfTokenizer.fromBytes(data, tokPath, { bos: null, eos: [], addBos: false });
  if (probe.vocabSize > vocabSize) {
    throw new TokenizerFormatError(tokPath, `vocab size mismatch: the tokenizer has ${probe.vocabSize} tokens, the model ${vocabSize}`);
  }
  const json = JSON.parse(new TextDecoder().decode(data)) as { model?: { vocab?: Record<string, number> }; added_tokens?: { id: number; content: string }[] };
  const idOf = (ref: TokenRef): number | null => {
    const content = typeof ref === 'string' ? ref : ref?.content;
    if (content === undefined) return null;
    const added = json.added_tokens?.find((t) => t.content === content);
    return added?.id ?? json.model?.vocab?.[content] ?? null;
  };
  const bos = idOf(config.bos_token as TokenRef);
  const eos = new Set<number>();
  const eosId = idOf(config.eos_token as TokenRef);
  if (eosId !== null) eos.add(eosId);
  const genEos = generation.eos_token_id;
  for (const id of Array.isArray(genEos) ? genEos : [genEos]) if (typeof id === 'number') eos.add(id);
  // LlamaTokenizer adds BOS unless told otherwise; other tokenizers only when their config says so.
  const addBos = bos !== null && (typeof config.add_bos_token === 'boolean' ? config.add_bos_token : postProcessorAddsBos(json, bos));
  return { data, bos, eos: [...eos], addBos, chatTemplate: chatTemplate(config.chat_template) };
}

function postProcessorAddsBos(json: unknown, bos: number): boolean {
  const pp = (
    json as { post_processor?: { type?: string; single?: { SpecialToken?: { id?: string } }[]; special_tokens?: Record<string, { ids?: number[] }> } }
  ).post_processor;
  if (pp?.type !== 'TemplateProcessing') return false;
  const firstId = pp.single?.[0]?.SpecialToken?.id;
  return firstId !== undefined && (pp.special_tokens?.[firstId]?.ids ?? []).includes(bos);
}

function chatTemplate(t: unknown): string | null {
  if (typeof t === 'string') return t;
  // Newer configs list named templates; the default one is what chat requests use.
  if (Array.isArray(t)) {
    const named = t as { name?: string; template?: string }[];
    return (named.find((x) => x.name === 'default') ?? named[0])?.template ?? null;
  }
  return null;
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return {}; // optional file: absent means defaults
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new TokenizerFormatError(path, 'not valid JSON', { cause: err });
  }
}
