/**
 * The OpenAI-compatible API as `(Request) => Promise<Response>`, testable without a socket:
 * GET /v1/models, POST /v1/chat/completions, POST /v1/completions (JSON or server-sent events),
 * GET /status (ringmesh extension), CORS with preflight for the origins allowed. Errors use
 * OpenAI's shape. Host, Origin and key checks: api-guard.ts; the generation bound: generation-slots.ts;
 * the response bodies: completion-response.ts.
 */
import type { ZodType } from 'zod';
import type { ModelManifest } from '../../shared/model/manifest.ts';
import type { Requester } from '../../shared/ring/requester.ts';
import type { Tokenizer } from '../../shared/tokenizer/tokenizer.ts';
import { ServerShuttingDownError } from './abort-reasons.ts';
import { ApiError, badRequest } from './api-errors.ts';
import { createApiGuard } from './api-guard.ts';
import { createGenerationSlots, type Slot } from './generation-slots.ts';
import { checkPromptChars, contextExceeded, messageChars, type PromptParam } from './prompt-bounds.ts';
import { chatRequestSchema, completionRequestSchema, type ChatRequest, type CompletionRequest } from './api-schemas.ts';
import { ChatTemplateError, type ChatRenderer } from '../../shared/chat/chat-template.ts';
import { completionResponse, type Kind, type Prepared } from './completion-response.ts';
import { streamCompletion, type CompletionDelta, type CompletionOutcome, type CompletionParams } from './completion-stream.ts';
import { toApiError } from './error-mapping.ts';
import { ContextLengthExceededError } from '../../shared/engine/errors.ts';
import { PromptTooLongError } from '../../shared/generate/errors.ts';

export interface OpenAiHandlerOptions {
  readonly requester: Requester;
  readonly tokenizer: Tokenizer;
  readonly manifest: ModelManifest;
  readonly modelId: string;
  readonly chat: ChatRenderer;
  /** When set, every request needs `Authorization: Bearer <apiKey>`. */
  readonly apiKey?: string;
  /** Web origins allowed to call from a browser (CORS); default none: a request with an Origin is refused. */
  readonly corsOrigins?: readonly string[];
  /** The address the server listens on, for the Host check (default 127.0.0.1). */
  readonly bindHost?: string;
  /** Further host names the API answers to (`--api-public-host`). */
  readonly publicHosts?: readonly string[];
  /** Generations at once before 429 (default `DEFAULT_MAX_CONCURRENT`). */
  readonly maxConcurrent?: number;
  /** Extra fields for GET /status (peers, ring, …). */
  readonly status?: () => Record<string, unknown>;
  /** Seconds since the epoch (default: the wall clock). */
  readonly now?: () => number;
}

export type ApiHandler = (request: Request) => Promise<Response>;

export function createOpenAiHandler(o: OpenAiHandlerOptions): ApiHandler {
  const now = o.now ?? ((): number => Math.floor(Date.now() / 1000));
  const guard = createApiGuard(o);
  const slots = createGenerationSlots(o.maxConcurrent);
  let served = 0;
  /** Holds the request's slot until its generation ends (completed, stopped, failed or cancelled). */
  async function* counted(gen: AsyncGenerator<CompletionDelta, CompletionOutcome>, slot: Slot): AsyncGenerator<CompletionDelta, CompletionOutcome> {
    try {
      const outcome = yield* gen;
      served += outcome.completionTokens;
      return outcome;
    } finally {
      slot.release();
    }
  }
  const contextLength = o.manifest.architecture.contextLength;
  const modelName = o.manifest.name;

  const checkModel = (model: string): void => {
    if (model !== modelName && model !== o.modelId) {
      throw new ApiError(
        404,
        `The model '${model}' does not exist; this peer serves '${modelName}' (id ${o.modelId})`,
        'not_found_error',
        'model',
        'model_not_found',
      );
    }
  };

  const params = (r: ChatRequest | CompletionRequest, promptTokens: number, maxTokens: number | null | undefined, param: PromptParam): CompletionParams => {
    const room = contextLength - promptTokens;
    if (room < 1) throw contextExceeded(contextLength, `has ${promptTokens} tokens`, param);
    return {
      maxTokens: Math.min(maxTokens ?? room, room),
      temperature: r.temperature ?? 1,
      topP: r.top_p ?? 1,
      stopStrings: r.stop === null || r.stop === undefined ? [] : typeof r.stop === 'string' ? [r.stop] : r.stop,
      ...(r.top_k === null || r.top_k === undefined ? {} : { topK: r.top_k }),
      ...(r.seed === null || r.seed === undefined ? {} : { seed: r.seed }),
    };
  };

  const prepareChat = (r: ChatRequest): Prepared => {
    checkModel(r.model);
    checkPromptChars(messageChars(r.messages), contextLength, 'messages');
    let rendered;
    try {
      rendered = o.chat.render(r.messages);
    } catch (err) {
      if (err instanceof ChatTemplateError) throw badRequest(err.message, 'messages', 'invalid_messages');
      throw err;
    }
    checkPromptChars(rendered.text.length, contextLength, 'messages');
    const promptIds = o.tokenizer.encode(rendered.text, rendered.hasBos ? { bos: false } : {});
    return finish('chat', r, promptIds, r.max_completion_tokens ?? r.max_tokens);
  };

  const prepareText = (r: CompletionRequest): Prepared => {
    checkModel(r.model);
    const prompt = r.prompt;
    let promptIds: number[];
    if (typeof prompt === 'string' || typeof prompt[0] === 'string') {
      const text = typeof prompt === 'string' ? prompt : (prompt[0] as string);
      checkPromptChars(text.length, contextLength, 'prompt');
      promptIds = o.tokenizer.encode(text);
    } else {
      promptIds = prompt as number[];
      if (promptIds.length >= contextLength) throw contextExceeded(contextLength, `has ${promptIds.length} tokens`, 'prompt');
    }
    const bad = promptIds.find((id) => id >= o.tokenizer.vocabSize);
    if (bad !== undefined) throw badRequest(`prompt token id ${bad} is outside the vocabulary (size ${o.tokenizer.vocabSize})`, 'prompt');
    if (promptIds.length === 0) throw badRequest('the prompt encodes to no tokens', 'prompt');
    return finish('text', r, promptIds, r.max_tokens);
  };

  const finish = (kind: Kind, r: ChatRequest | CompletionRequest, promptIds: number[], maxTokens: number | null | undefined): Prepared => ({
    kind,
    promptIds,
    params: params(r, promptIds.length, maxTokens, kind === 'chat' ? 'messages' : 'prompt'),
    stream: r.stream === true,
    includeUsage: r.stream_options?.include_usage === true,
    returnIds: r.return_token_ids === true,
  });

  const complete = (p: Prepared, signal: AbortSignal, slot: Slot): Promise<Response> => {
    const gen = streamCompletion(o.requester, o.tokenizer, p.promptIds, p.params, signal);
    return completionResponse(p, counted(namingPrompt(gen, p.kind === 'chat' ? 'messages' : 'prompt'), slot), { model: modelName, created: now() });
  };

  const route = async (request: Request): Promise<Response> => {
    const { pathname } = new URL(request.url);
    const path = pathname.replace(/\/+$/, '');
    if (path === '/status' && request.method === 'GET') {
      return Response.json({
        status: 'ok',
        model: modelName,
        modelId: o.modelId,
        peerId: o.requester.peerId,
        activeRequests: slots.active,
        tokensServed: served,
        ...o.status?.(),
      });
    }
    if (path === '/healthz' && request.method === 'GET') return Response.json({ status: 'ok' });
    if (path === '/v1/models' && request.method === 'GET') {
      return Response.json({ object: 'list', data: [modelEntry()] });
    }
    if (path === `/v1/models/${modelName}` || path === `/v1/models/${o.modelId}`) return Response.json(modelEntry());
    if (path === '/v1/chat/completions' || path === '/v1/completions') {
      if (request.method !== 'POST') throw new ApiError(405, `${path} takes POST`, 'invalid_request_error', null, 'method_not_allowed');
      // Taken before the body is read: past the bound a request costs neither its body nor a tokenizer run.
      const slot = slots.acquire();
      try {
        const body = await readJson(request);
        const prepared =
          path === '/v1/chat/completions' ? prepareChat(validate(chatRequestSchema, body)) : prepareText(validate(completionRequestSchema, body));
        return await complete(prepared, request.signal, slot);
      } catch (err) {
        slot.release(); // no generation holds it (a generation that failed has released it already)
        throw err;
      }
    }
    throw new ApiError(404, `Unknown endpoint ${request.method} ${pathname}`, 'not_found_error', null, 'unknown_url');
  };

  const modelEntry = (): Record<string, unknown> => ({
    id: modelName,
    object: 'model',
    created: 0,
    owned_by: 'ringmesh',
    ringmesh: { model_id: o.modelId, context_length: contextLength, layers: o.manifest.architecture.numLayers },
  });

  return async (request) => {
    const headers = guard.cors(request); // none for an origin not allowed: its page reads nothing
    const refused = guard.refuse(request);
    let response: Response;
    if (refused !== null) response = refused.toResponse();
    else if (request.method === 'OPTIONS') return new Response(null, { status: 204, headers });
    else {
      try {
        response = await route(request);
      } catch (err) {
        response = toApiError(err).toResponse();
      }
    }
    for (const [k, v] of Object.entries(headers)) response.headers.set(k, v);
    return response;
  };
}

/** A ring that finds the prompt too long names the request's own field: `messages` (chat) or `prompt`. */
async function* namingPrompt(gen: AsyncGenerator<CompletionDelta, CompletionOutcome>, param: PromptParam): AsyncGenerator<CompletionDelta, CompletionOutcome> {
  try {
    return yield* gen;
  } catch (err) {
    if (err instanceof PromptTooLongError || err instanceof ContextLengthExceededError) {
      throw new ApiError(400, err.message, 'invalid_request_error', param, 'context_length_exceeded', { cause: err });
    }
    throw err;
  }
}

async function readJson(request: Request): Promise<unknown> {
  let text: string;
  try {
    text = await request.text();
  } catch (err) {
    // The server's body limit errors the stream with its 413; anything else is a broken upload.
    if (err instanceof ApiError) throw err;
    if (request.signal.reason instanceof ServerShuttingDownError) throw request.signal.reason;
    throw badRequest(`The request body could not be read: ${err instanceof Error ? err.message : String(err)}`, null, 'invalid_body');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw badRequest('The request body is not valid JSON', null, 'invalid_json');
  }
}

function validate<T>(schema: ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const param = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : null;
  throw badRequest(issue ? `${param ?? 'body'}: ${issue.message}` : 'invalid request body', param, 'invalid_value');
}
