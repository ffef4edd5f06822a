/**
 * A byte range of an open file as a pull-driven web ReadableStream: one chunk is read only when
 * the consumer asks for it, so a gigabyte file costs one chunk of memory per download. The file
 * handle is closed when the range is done, on a read error, or when the consumer cancels (a
 * client that disconnected).
 */
import type { FileHandle } from 'node:fs/promises';

/** Thrown into the stream when the file ends before the range does (it shrank while served). */
export class FileShrankError extends Error {
  override readonly name = 'FileShrankError';
  constructor(readonly position: number) {
    super(`file ended at byte ${position}, before the range it was serving`);
  }
}

const DEFAULT_CHUNK_BYTES = 256 * 1024;

/** Bytes `start..end` (inclusive) of `handle`; takes ownership of the handle. */
export function fileBody(handle: FileHandle, start: number, end: number, chunkBytes = DEFAULT_CHUNK_BYTES): ReadableStream<Uint8Array> {
  let position = start;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await handle.close().catch(() => undefined);
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const want = Math.min(chunkBytes, end + 1 - position);
          if (want <= 0) {
            await close();
            controller.close();
            return;
          }
          const chunk = new Uint8Array(want);
          const { bytesRead } = await handle.read(chunk, 0, want, position);
          if (closed) return; // cancelled while the read was in flight
          if (bytesRead === 0) throw new FileShrankError(position);
          position += bytesRead;
          controller.enqueue(bytesRead === want ? chunk : chunk.subarray(0, bytesRead));
          if (position > end) {
            await close();
            controller.close();
          }
        } catch (err) {
          await close();
          controller.error(err);
        }
      },
      cancel: close,
    },
    // Nothing is read ahead of the consumer.
    { highWaterMark: 0 },
  );
}
