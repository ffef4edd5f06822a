// Acceptance (item 1): the official `openai` npm client, pointed at `node-peer start
// --api-port` on a ring of Node peers, gets a streamed and a non-streamed chat completion whose
// token ids match the same request run with `node-peer generate`. Real processes, WebRTC on
// loopback (run inside a network namespace, as scripts/test.sh does).
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../util/temp-dir.ts';
import { generateJson, startApiRing, type ApiRing, type LocalGenerateJson } from './ring-fixture.ts';

const tmp = makeTempDir('api-ring');
let ring: ApiRing;
let client: OpenAI;
let reference: LocalGenerateJson;
let sampled: LocalGenerateJson;

const MODEL = 'aidreams260K';
const MAX_TOKENS = 24;
const MESSAGES = [{ role: 'user' as const, content: 'Once upon a time, a robot' }];
/** The plain chat template (docs/api.md) for a model without one: "Role: content" lines, then "Assistant:". */
const RENDERED = 'User: Once upon a time, a robot\nAssistant:';

/** vLLM's `return_token_ids` extension: the response carries prompt and completion token ids. */
type WithIds<T> = T & { return_token_ids: true };
/** `node-peer generate` counts a stop id among its generated ids; the API leaves it out. */
const expectedIds = (r = reference): number[] => (r.stopReason === 'stop-id' ? r.generatedIds.slice(0, -1) : r.generatedIds);
const expectedFinish = (r = reference): string => (r.stopReason === 'stop-id' ? 'stop' : 'length');
/** Seeded sampling: the same seed, temperature and top_p give the same draws in the ring and in `node-peer generate`. */
const SAMPLING = { seed: 1234, temperature: 0.9, top_p: 0.85 };

beforeAll(async () => {
  // Two peers with equal memory: the planner splits the 4 layers 2 + 2.
  ring = await startApiRing(tmp.dir, ['700KiB', '700KiB']);
  client = new OpenAI({ baseURL: `${ring.apiUrl}/v1`, apiKey: 'not-needed', maxRetries: 0, timeout: 60_000 });
  reference = await generateJson(ring.modelDir, RENDERED, MAX_TOKENS);
  sampled = await generateJson(ring.modelDir, RENDERED, MAX_TOKENS, [
    '--seed',
    String(SAMPLING.seed),
    '--temperature',
    String(SAMPLING.temperature),
    '--top-p',
    String(SAMPLING.top_p),
  ]);
});

afterAll(async () => {
  await ring?.close();
  tmp.cleanup();
});

describe('openai client → node-peer start --api-port on a 2-peer ring', () => {
  it('the ring is split between both peers', () => {
    const plans = ring.peers.map((p) => p.events.filter((e) => e.event === 'plan').at(-1)?.['layers']);
    const sorted = [...plans].sort((a, b) => (a as { start: number }).start - (b as { start: number }).start);
    expect(sorted).toEqual([
      { start: 0, end: 2 },
      { start: 2, end: 4 },
    ]);
  });

  it('lists the model', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([MODEL]);
  });

  it('a non-streamed chat completion has the ids of node-peer generate', async () => {
    const body: WithIds<OpenAI.ChatCompletionCreateParamsNonStreaming> = {
      model: MODEL,
      messages: MESSAGES,
      max_tokens: MAX_TOKENS,
      temperature: 0,
      return_token_ids: true,
    };
    const res = (await client.chat.completions.create(body)) as OpenAI.ChatCompletion & { prompt_token_ids: number[]; choices: { token_ids: number[] }[] };
    expect(res.object).toBe('chat.completion');
    expect(res.id).toMatch(/^chatcmpl-/);
    expect(res.prompt_token_ids).toEqual(reference.promptIds);
    expect(res.choices[0]!.token_ids).toEqual(expectedIds());
    expect(res.choices[0]!.finish_reason).toBe(expectedFinish());
    expect(res.choices[0]!.message.role).toBe('assistant');
    expect(res.choices[0]!.message.content?.length).toBeGreaterThan(0);
    expect(reference.text.endsWith(res.choices[0]!.message.content!)).toBe(true);
    expect(res.usage).toEqual({
      prompt_tokens: reference.promptIds.length,
      completion_tokens: expectedIds().length,
      total_tokens: reference.promptIds.length + expectedIds().length,
    });
  });

  it('a streamed chat completion has the same ids and text, chunk by chunk', async () => {
    const body: WithIds<OpenAI.ChatCompletionCreateParamsStreaming> = {
      model: MODEL,
      messages: MESSAGES,
      max_tokens: MAX_TOKENS,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
      return_token_ids: true,
    };
    const stream = await client.chat.completions.create(body);
    const ids: number[] = [];
    let text = '';
    let chunks = 0;
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      chunks++;
      expect(chunk.object).toBe('chat.completion.chunk');
      const choice = chunk.choices[0] as (OpenAI.ChatCompletionChunk.Choice & { token_ids?: number[] }) | undefined;
      if (choice) {
        text += choice.delta.content ?? '';
        ids.push(...(choice.token_ids ?? []));
        finish = choice.finish_reason ?? finish;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    expect(ids).toEqual(expectedIds());
    expect(chunks).toBeGreaterThan(3); // streamed token by token, not in one piece
    expect(finish).toBe(expectedFinish());
    expect(reference.text.endsWith(text)).toBe(true);
    expect(usage).toEqual({ prompt_tokens: reference.promptIds.length, completion_tokens: ids.length, total_tokens: reference.promptIds.length + ids.length });
  });

  it('seeded sampling (seed, temperature, top_p) draws the ids of node-peer generate with the same options, streamed or not', async () => {
    expect(sampled.generatedIds).not.toEqual(reference.generatedIds); // it really sampled
    const body = { model: MODEL, messages: MESSAGES, max_tokens: MAX_TOKENS, ...SAMPLING, return_token_ids: true as const };
    const res = (await client.chat.completions.create(body as WithIds<OpenAI.ChatCompletionCreateParamsNonStreaming>)) as OpenAI.ChatCompletion & {
      choices: { token_ids: number[] }[];
    };
    expect(res.choices[0]!.token_ids).toEqual(expectedIds(sampled));
    expect(res.choices[0]!.finish_reason).toBe(expectedFinish(sampled));
    expect(res.usage?.completion_tokens).toBe(expectedIds(sampled).length);
    const stream = await client.chat.completions.create({ ...body, stream: true } as WithIds<OpenAI.ChatCompletionCreateParamsStreaming>);
    const ids: number[] = [];
    for await (const chunk of stream) ids.push(...((chunk.choices[0] as { token_ids?: number[] } | undefined)?.token_ids ?? []));
    expect(ids).toEqual(expectedIds(sampled));
  });

  it('a stop string ends the reply before it, with finish_reason stop', async () => {
    const full =
      (await client.chat.completions.create({ model: MODEL, messages: MESSAGES, max_tokens: MAX_TOKENS, temperature: 0 })).choices[0]!.message.content ?? '';
    const mid = Math.floor(full.length / 2);
    const stop = full.slice(mid, mid + 3);
    const res = await client.chat.completions.create({ model: MODEL, messages: MESSAGES, max_tokens: MAX_TOKENS, temperature: 0, stop: [stop] });
    expect(res.choices[0]!.finish_reason).toBe('stop');
    expect(res.choices[0]!.message.content).toBe(full.slice(0, full.indexOf(stop)));
    expect(res.usage!.completion_tokens).toBeLessThan(expectedIds().length);
  });

  it('a completion with a token-id prompt matches too', async () => {
    const res = (await client.completions.create({
      model: MODEL,
      prompt: reference.promptIds,
      max_tokens: MAX_TOKENS,
      temperature: 0,
      return_token_ids: true,
    } as WithIds<OpenAI.CompletionCreateParamsNonStreaming>)) as OpenAI.Completion & { choices: { token_ids: number[] }[] };
    expect(res.object).toBe('text_completion');
    expect(res.choices[0]!.token_ids).toEqual(expectedIds());
  });

  it("errors reach the client in OpenAI's shape", async () => {
    await expect(client.chat.completions.create({ model: 'gpt-nope', messages: MESSAGES })).rejects.toMatchObject({
      status: 404,
      type: 'not_found_error',
      code: 'model_not_found',
      param: 'model',
    });
    await expect(client.chat.completions.create({ model: MODEL, messages: MESSAGES, temperature: 7 })).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    await expect(client.chat.completions.create({ model: MODEL, messages: [] })).rejects.toMatchObject({
      status: 400,
      type: 'invalid_request_error',
      param: 'messages',
    });
  });
});
