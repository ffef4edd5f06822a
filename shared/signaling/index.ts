// Public surface of the signaling protocol and client, for peers (Node and browser).
export * from './protocol.ts';
export * from './codec.ts';
export * from './errors.ts';
export * from './close-codes.ts';
export * from './backoff.ts';
export type { Clock } from './clock.ts';
export { systemClock } from './clock.ts';
export type { SignalingClient, SignalingClientOptions, SignalingEvents, SignalingState } from './signaling-client.ts';
export type { WebSocketConstructor, WebSocketLike } from './web-socket-like.ts';
export { createSignalingClient } from './websocket-signaling-client.ts';
