import { RingmeshError } from '../../shared/errors.ts';
import type { ModelManifest } from '../../shared/model/manifest.ts';
import type { Requester } from '../../shared/ring/requester.ts';
import type { Tokenizer } from '../../shared/tokenizer/tokenizer.ts';
import { ApiError } from '../api/api-errors.ts';
import { startApiServer } from '../api/api-server.ts';
import { createChatRenderer, specialTokenTexts } from '../../shared/chat/chat-template.ts';
import { createOpenAiHandler, type ApiHandler } from '../api/openai-handler.ts';

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

/** The API's address cannot be listened on (in use, not this machine's, or a privileged port). */
export class ApiPortUnavailableError extends RingmeshError {
  constructor(
    readonly host: string,
    readonly port: number,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    const why =
      code === 'EADDRINUSE'
        ? 'is already in use: stop what listens there or pick another --api-port (0 = any free port)'
        : code === 'EACCES'
          ? 'needs privileges this process lacks: pick a port above 1023'
          : code === 'EADDRNOTAVAIL'
            ? 'is not an address of this machine: check --api-host'
            : `cannot be listened on (${code})`;
    super(`--api-port ${port}: ${host}:${port} ${why}`, options);
  }
}

/** The API's socket, bound before the peer joins its room; `serve` installs the model's handler. */
export interface ApiListener extends RunningApi {
  serve(m: ApiModel): void;
}

/**
 * Listens on --api-host:--api-port before anything else starts, so a port in use ends the start
 * at once instead of after the room was joined. Until `serve`, requests get 503 with Retry-After.
 */
export async function listenApi(o: ApiFlags): Promise<ApiListener> {
  let handler: ApiHandler = () =>
    Promise.resolve(
      new ApiError(503, 'This peer is still starting (joining its room, loading its model); retry shortly', 'service_unavailable', null, 'starting', {
        headers: { 'retry-after': '1' },
      }).toResponse(),
    );
  const port = o.apiPort ?? 0;
  const server = await startApiServer({
    handler: (r) => handler(r),
    host: o.apiHost,
    port,
    ...(o.apiMaxBody === undefined ? {} : { maxBodyBytes: o.apiMaxBody }),
  }).catch((err: unknown) => {
    const code = (err as NodeJS.ErrnoException | null)?.code;
    throw typeof code === 'string' && code.startsWith('E') ? new ApiPortUnavailableError(o.apiHost, port, code, { cause: err }) : err;
  });
  return {
    url: server.url,
    get openRequests() {
      return server.openRequests;
    },
    serve(m) {
      handler = openAiHandler(o, m);
    },
    close: () => server.close(),
  };
}

function openAiHandler(o: ApiFlags, m: ApiModel): ApiHandler {
  const tok = m.manifest.tokenizer;
  const chat = createChatRenderer({ template: tok.chatTemplate, ...specialTokenTexts(m.tokenizerBytes, tok.bos, tok.eos) });
  return createOpenAiHandler({
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
}
