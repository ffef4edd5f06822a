// A request body as a web stream that stops at a byte limit: past it the stream errors with the
// 413 `ApiError` (the handler answers it) and the rest of the upload is discarded, never buffered.
import type { IncomingMessage } from 'node:http';
import { RequestBodyIncompleteError } from './abort-reasons.ts';
import { bodyTooLarge } from './api-errors.ts';

/** Bytes the stream buffers ahead of the handler's reads before pausing the socket. */
const HIGH_WATER_BYTES = 64 * 1024;

/**
 * `req`'s body, at most `maxBytes` of it. `onOverflow` runs once when the limit is crossed; by
 * then `req` flows into nothing, so the client's remaining bytes cost no memory.
 */
export function limitedBody(req: IncomingMessage, maxBytes: number, onOverflow: () => void): ReadableStream<Uint8Array> {
  let seen = 0;
  let settled = false;
  const discard = (): void => {
    req.removeAllListeners('data');
    req.on('data', () => undefined);
    req.resume();
  };
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        req.on('data', (chunk: Buffer) => {
          if (settled) return;
          seen += chunk.byteLength;
          if (seen > maxBytes) {
            settled = true;
            controller.error(bodyTooLarge(maxBytes));
            discard();
            onOverflow();
            return;
          }
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 0) <= 0) req.pause();
        });
        req.once('end', () => {
          if (settled) return;
          settled = true;
          controller.close();
        });
        const fail = (err: Error): void => {
          if (settled) return;
          settled = true;
          controller.error(err);
        };
        req.once('error', fail);
        req.once('close', () => fail(new RequestBodyIncompleteError(seen)));
      },
      pull() {
        if (!settled) req.resume();
      },
      cancel() {
        settled = true;
        discard();
      },
    },
    { highWaterMark: HIGH_WATER_BYTES, size: (chunk) => chunk.byteLength },
  );
}
