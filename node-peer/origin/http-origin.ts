import { Agent, interceptors, request, type Dispatcher } from 'undici';
import type { ByteRange, Origin } from '../../shared/pieces/origin.ts';
import { joinUrl, readRanged, type HttpGet, type RangedReadOptions } from '../../shared/pieces/ranged-read.ts';

export interface HttpOriginOptions extends RangedReadOptions {
  readonly dispatcher?: Dispatcher;
}

/**
 * An HTTP(S) base URL read with Range requests through undici: retries with backoff, resume of a
 * partial body, optional bearer token. Redirects are followed (a Hugging Face `…/resolve/<rev>/`
 * URL redirects to its CDN; undici drops the Authorization header when the origin changes).
 */
export class HttpOrigin implements Origin {
  readonly label: string;
  private readonly get: HttpGet;

  constructor(
    private readonly base: string,
    private readonly opts: HttpOriginOptions = {},
  ) {
    this.label = new URL(base).origin + new URL(base).pathname;
    const dispatcher = opts.dispatcher ?? new Agent().compose(interceptors.redirect({ maxRedirections: 5 }));
    this.get = async (url, headers, signal) => {
      const res = await request(url, { method: 'GET', headers, signal, dispatcher });
      const cr = res.headers['content-range'];
      return {
        status: res.statusCode,
        contentRange: typeof cr === 'string' ? cr : null,
        body: res.body as AsyncIterable<Uint8Array>,
        cancel: () => {
          // Destroying an undici body emits an AbortError; nobody awaits it, so swallow it here.
          res.body.on('error', () => undefined);
          res.body.destroy();
        },
      };
    };
  }

  async read(file: string, range?: ByteRange, signal?: AbortSignal): Promise<Uint8Array> {
    // async: a refused path (joinUrl) rejects like every other failure instead of throwing.
    return readRanged(this.get, joinUrl(this.base, file), range, this.opts, signal);
  }
}
