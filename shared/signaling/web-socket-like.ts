/**
 * The slice of the WebSocket API the signaling client uses. Both the browser's native WebSocket
 * and the `ws` package satisfy it, so shared/ never imports either: the caller injects one.
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  // Handler parameters are typed `never` so that both implementations' own event types (DOM
  // Event / MessageEvent, ws's event classes) are assignable; the client assigns handlers whose
  // parameters name just the fields it reads ({@link MessageEventLike}, {@link CloseEventLike}).
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
}

export interface MessageEventLike {
  readonly data: unknown;
}
export interface CloseEventLike {
  readonly code: number;
  readonly reason: string;
}

/** `new WebSocket(url)`: the native constructor in browsers, `ws`'s in Node. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** readyState values (same in every implementation). */
export const WS_OPEN = 1;
