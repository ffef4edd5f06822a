import type { ModelManifest } from '../../shared/model/manifest.ts';
import type { Requester } from '../../shared/ring/requester.ts';
import type { Tokenizer } from '../../shared/tokenizer/tokenizer.ts';
import { startApiServer } from '../api/api-server.ts';
import { createChatRenderer, specialTokenTexts } from '../../shared/chat/chat-template.ts';
import { createOpenAiHandler } from '../api/openai-handler.ts';

export interface ApiModel {
  readonly manifest: ModelManifest;
  readonly modelId: string;
  readonly tokenizer: Tokenizer;
  /** tokenizer.json bytes, for the text of BOS/EOS in chat templates; absent for llama2.c tokenizers. */
  readonly tokenizerBytes?: Uint8Array;
  readonly requester: Requester;
  readonly status?: () => Record<string, unknown>;
}

export interface RunningApi {
  readonly url: string;
  readonly openRequests: number;
  close(): Promise<void>;
}

/** The API flags of `node-peer start` (start-command.ts checks that a non-loopback host has a key). */
export interface ApiFlags {
  readonly apiPort?: number;
  readonly apiHost: string;
  readonly apiKey?: string;
  readonly apiMaxBody?: number;
  readonly apiMaxConcurrent?: number;
  readonly corsOrigin?: readonly string[];
  readonly apiPublicHost?: readonly string[];
}

/** Starts the OpenAI-compatible API of `node-peer start --api-port` for one model. */
export async function serveApi(o: ApiFlags, m: ApiModel): Promise<RunningApi> {
  const tok = m.manifest.tokenizer;
  const chat = createChatRenderer({ template: tok.chatTemplate, ...specialTokenTexts(m.tokenizerBytes, tok.bos, tok.eos) });
  const handler = createOpenAiHandler({
    requester: m.requester,
    tokenizer: m.tokenizer,
    manifest: m.manifest,
    modelId: m.modelId,
    chat,
    bindHost: o.apiHost,
    ...(o.apiKey === undefined ? {} : { apiKey: o.apiKey }),
    ...(o.corsOrigin === undefined ? {} : { corsOrigins: o.corsOrigin }),
    ...(o.apiPublicHost === undefined ? {} : { publicHosts: o.apiPublicHost }),
    ...(o.apiMaxConcurrent === undefined ? {} : { maxConcurrent: o.apiMaxConcurrent }),
    ...(m.status === undefined ? {} : { status: m.status }),
  });
  return startApiServer({ handler, host: o.apiHost, port: o.apiPort ?? 0, ...(o.apiMaxBody === undefined ? {} : { maxBodyBytes: o.apiMaxBody }) });
}
