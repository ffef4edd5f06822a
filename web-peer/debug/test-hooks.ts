// What the page adds for Playwright tests and the transport bench only: `window.ringmesh` and the
// bare lobby. main.ts imports this module behind `__RINGMESH_TEST_HOOKS__`, which is false in the
// shipped build (`vite build`), so none of it is in dist/web (docs/web-page.md, "Test hooks").
import type { Capabilities } from '../../shared/signaling/protocol.ts';
import type { SignalingClient } from '../../shared/signaling/signaling-client.ts';
import type { PeerTransport } from '../../shared/transport/peer-transport.ts';
import type { AppState } from '../state/app-state.ts';
import type { Store } from '../state/store.ts';
import { installDebugHook } from './debug-hook.ts';

export { installDebugHook };

export interface LobbyDeps {
  readonly createSignaling: (capabilities: Capabilities) => SignalingClient;
  readonly createTransport: (signaling: SignalingClient) => PeerTransport;
  readonly app: Store<AppState>;
}

/**
 * A room that names no model (the transport tests and bench): signaling and data channels only,
 * driven through `window.ringmesh`. The tab offers no memory and wants no model.
 */
export function startLobby(d: LobbyDeps): void {
  const signaling = d.createSignaling({ kind: 'browser', engine: 'wasm', memoryBytes: 0, modelsHeld: [], modelsWanted: [] });
  const transport = d.createTransport(signaling);
  signaling.on('state', (s) => d.app.update({ signaling: s.state }));
  signaling.on('welcome', () => d.app.update({ peerId: signaling.peerId ?? null }));
  installDebugHook(window, signaling, transport);
  signaling.connect().catch((err: unknown) => d.app.update({ phase: 'error', error: `signaling: ${(err as Error).message}` }));
}
