import { toApiError } from './error-mapping.ts';

/**
 * A server-sent events response in OpenAI's format: one `data: <json>` per event, then
 * `data: [DONE]`. A failure mid-stream (a stalled ring, the server shutting down) becomes one
 * `data: {"error": …}` event (what the openai clients turn into an APIError), then `data: [DONE]`.
 * `onCancel` runs when the client goes away.
 */
export function sseResponse(events: AsyncIterable<unknown>, onCancel: () => Promise<void>): Response {
  const it = events[Symbol.asyncIterator]();
  const enc = new TextEncoder();
  const line = (data: string): Uint8Array => enc.encode(`data: ${data}\n\n`);
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await it.next();
        if (next.done === true) {
          controller.enqueue(line('[DONE]'));
          controller.close();
          return;
        }
        controller.enqueue(line(JSON.stringify(next.value)));
      } catch (err) {
        // The stream's edge: the status line is already sent, so the error travels as an event.
        controller.enqueue(line(JSON.stringify(toApiError(err).toBody())));
        controller.enqueue(line('[DONE]'));
        controller.close();
      }
    },
    async cancel() {
      await onCancel();
    },
  });
  return new Response(body, {
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' },
  });
}
