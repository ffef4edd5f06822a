// The page's composition root: the only place that constructs concrete classes (STYLE.md).
import { createSignalingClient } from '../shared/signaling/websocket-signaling-client.ts';
import type { WebSocketConstructor } from '../shared/signaling/web-socket-like.ts';
import './components/rm-peer-status.ts';
import { installDebugHook } from './debug/debug-hook.ts';
import { readPageConfig } from './page-config.ts';
import { createBrowserTransport } from './transport/browser-transport.ts';

const config = readPageConfig(location);
const signaling = createSignalingClient({
  url: config.signalUrl,
  WebSocket: WebSocket as unknown as WebSocketConstructor,
  room: config.room,
  capabilities: { kind: 'browser', engine: 'wasm', memoryBytes: 1 << 30, modelsHeld: [], modelsWanted: [] },
});
const transport = createBrowserTransport({ signaling, iceServers: config.iceServers });

const status = document.createElement('rm-peer-status');
document.body.append(status);
const refresh = (): void => {
  status.peerId = signaling.peerId ?? '';
  status.state = signaling.state;
  status.connections = transport.connections().length;
};
signaling.on('state', refresh);
signaling.on('welcome', refresh);
transport.on('connection', (conn) => {
  refresh();
  conn.on('close', refresh);
});

installDebugHook(window, signaling, transport);
signaling.connect().catch((err: unknown) => {
  status.state = `failed: ${(err as Error).message}`;
});
