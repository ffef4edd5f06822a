/**
 * Letting go of a signaling socket (websocket-signaling-client.ts): quietly, at once, or with a
 * bounded close handshake. Works on the browser's WebSocket and on `ws`'s alike.
 */
import type { Clock } from '../util/clock.ts';
import { encodeMessage } from './message-codec.ts';
import { WS_OPEN, type WebSocketLike } from './web-socket-like.ts';

/** How long `closeGracefully` waits for the server's close frame before cutting the socket. */
const CLOSE_WAIT_MS = 1000;

/** Removes the client's handlers, so a socket being dropped reports nothing more. */
export function detach(socket: WebSocketLike): void {
  socket.onopen = null;
  socket.onmessage = null;
  // Keep an error listener: `ws` is an EventEmitter and an unheard 'error' (e.g. from aborting a
  // handshake) would be thrown as an uncaught exception.
  socket.onerror = () => {};
  socket.onclose = null;
}

/** Closes at once: `ws` has terminate() (no close handshake to wait for); browsers only close(). */
export function cut(socket: WebSocketLike, code: number, reason: string): void {
  const terminate = (socket as { terminate?: () => void }).terminate;
  if (typeof terminate === 'function') terminate.call(socket);
  else socket.close(code, reason);
}

/** Sends `leave`, closes, and waits (bounded) for the close handshake so the socket is released. */
export function closeGracefully(socket: WebSocketLike, clock: Clock): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clock.clearTimeout(handle);
      detach(socket);
      resolve();
    };
    if (socket.readyState === WS_OPEN) socket.send(encodeMessage({ type: 'leave' }));
    detach(socket);
    const handle = clock.setTimeout(() => {
      cut(socket, 1000, 'client closed');
      done();
    }, CLOSE_WAIT_MS);
    socket.onclose = done;
    if (socket.readyState === 3 /* CLOSED */) done();
    else socket.close(1000, 'client closed');
  });
}
