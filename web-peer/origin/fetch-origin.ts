import type { ByteRange, Origin } from '../../shared/pieces/origin.ts';
import { joinUrl, readRanged, type HttpGet, type RangedReadOptions } from '../../shared/pieces/ranged-read.ts';

/** The browser's origin client: the same Range/retry/resume logic as Node's, over `fetch`. */
export class FetchOrigin implements Origin {
  readonly label: string;
  private readonly get: HttpGet;

  constructor(
    private readonly base: string,
    private readonly opts: RangedReadOptions = {},
  ) {
    this.label = new URL(base, globalThis.location?.href).href;
    this.get = async (url, headers, signal) => {
      const res = await fetch(new URL(url, globalThis.location?.href), { headers, signal, cache: 'no-store' });
      const reader = res.body?.getReader();
      return {
        status: res.status,
        contentRange: res.headers.get('content-range'),
        body: {
          async *[Symbol.asyncIterator]() {
            if (!reader) return;
            for (;;) {
              const { done, value } = await reader.read();
              if (done) return;
              yield value;
            }
          },
        },
        cancel: () => void reader?.cancel().catch(() => undefined),
      };
    };
  }

  async read(file: string, range?: ByteRange, signal?: AbortSignal): Promise<Uint8Array> {
    // async: a refused path (joinUrl) rejects like every other failure instead of throwing.
    return readRanged(this.get, joinUrl(this.label, file), range, this.opts, signal);
  }
}
