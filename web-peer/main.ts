// The page's composition root: the only place that constructs concrete classes (docs/architecture.md).
import type { Engine } from '../shared/engine/engine.ts';
import { asRoomId } from '../shared/ids.ts';
import type { Capabilities } from '../shared/signaling/protocol.ts';
import type { SignalingClient } from '../shared/signaling/signaling-client.ts';
import type { WebSocketConstructor } from '../shared/signaling/web-socket-like.ts';
import { createSignalingClient } from '../shared/signaling/websocket-signaling-client.ts';
import type { PeerTransport } from '../shared/transport/peer-transport.ts';
import type { RmApp } from './components/rm-app.ts';
import './components/rm-app.ts';
import { CacheController } from './controllers/cache-controller.ts';
import { ChatController } from './controllers/chat-controller.ts';
import { detectGpu } from './controllers/detect-gpu.ts';
import { defaultMemoryBudget } from './controllers/memory-budget.ts';
import { PageSession } from './controllers/page-session.ts';
import { StoragePersistence } from './controllers/storage-persistence.ts';
import { WorkerEngine } from './engine/worker-engine.ts';
import type { MessagePortLike } from './engine/engine-messages.ts';
import { FetchOrigin } from './origin/fetch-origin.ts';
import { readPageConfig } from './page-config.ts';
import { createAppStore } from './state/app-state.ts';
import { createBrowserStore } from './store/create-browser-store.ts';
import { StorageGuard } from './store/storage-guard.ts';
import { createBrowserTransport } from './transport/browser-transport.ts';

const MODEL_ID = /^[0-9a-f]{64}$/;
const config = readPageConfig(location);
const query = new URLSearchParams(location.search);
const app = createAppStore();
// Test-only (window.ringmesh, the bare lobby): absent from the shipped build (docs/web-page.md, "Test hooks").
const testHooks = __RINGMESH_TEST_HOOKS__ ? await import('./debug/test-hooks.ts') : null;

/** `/ringmesh.json` (written by `npm start`): the room and origin to use when the URL names none. */
async function defaults(): Promise<{ room?: string; origin?: string }> {
  try {
    const res = await fetch('/ringmesh.json', { cache: 'no-store' });
    return res.ok ? ((await res.json()) as { room?: string; origin?: string }) : {};
  } catch {
    return {}; // no defaults file: the URL must name the room
  }
}

const createSignaling = (capabilities: Capabilities, room = config.room): SignalingClient =>
  createSignalingClient({
    url: config.signalUrl,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    room,
    capabilities,
    ...(config.token === undefined ? {} : { token: config.token }),
  });
const createTransport = (signaling: SignalingClient): PeerTransport => createBrowserTransport({ signaling, iceServers: config.iceServers });
const createEngine = (): Engine =>
  new WorkerEngine(new Worker(new URL('./engine/engine-worker.ts', import.meta.url), { type: 'module' }) as unknown as MessagePortLike);

const root = document.createElement('rm-app') as RmApp;
root.store = app;

const fallback = query.has('room') ? {} : await defaults();
const roomName = query.get('room') ?? fallback.room ?? config.room;
const modelId = MODEL_ID.test(roomName) ? roomName : null;
const originBase =
  query.get('origin') ??
  (fallback.room === roomName || fallback.room === undefined ? fallback.origin : undefined) ??
  (modelId ? `/models/${modelId}/` : undefined);
app.update({ modelId });

const { store } = createBrowserStore();
const cache = new CacheController(app, store, modelId);
const persistence = new StoragePersistence(app, navigator.storage);
let session: PageSession | null = null;
const chat = new ChatController(app, () => session);

/** Replaces the current session with one offering `budget` bytes (0: requester and piece seeder only). */
async function join(budgetBytes: number, phase: 'watching' | 'contributing'): Promise<void> {
  if (modelId === null) return;
  const previous = session;
  session = null;
  chat.stop();
  app.update({ phase: 'joining', error: null, chatReady: false, ring: [], layers: null, planEpoch: null, stageLoaded: false, ringReady: false, pieces: null });
  await previous?.close();
  const detection = app.get().detection;
  const next = new PageSession({
    modelId,
    budgetBytes,
    engineKind: detection.state === 'webgpu' ? 'webgpu' : 'wasm',
    store,
    origin: originBase ? new FetchOrigin(originBase) : null,
    createSignaling: (caps) => createSignaling(caps, asRoomId(roomName)),
    createTransport,
    createEngine,
    app,
    // Before this tab downloads units: quota, eviction of older models, or a refusal (docs/web-page.md, "Storage").
    guardUnits: (units, manifest) =>
      new StorageGuard({
        inner: units,
        manifest,
        modelId,
        store,
        estimate: () => navigator.storage?.estimate?.() ?? Promise.resolve(undefined),
        persist: () => persistence.request(),
        nameOf: (id) => cache.nameOf(id),
        onCheck: (check) => {
          app.update({ storageCheck: check });
          if (check.evicted.length > 0) void cache.refresh();
          // Layers this tab cannot store would leave a hole in the ring: offer no memory instead.
          if (check.short !== null && budgetBytes > 0 && session === next) void join(0, 'watching');
        },
      }),
    onConnected: (signaling, transport) => testHooks?.installDebugHook(window, signaling, transport),
  });
  session = next;
  try {
    await next.start();
    if (session === next) app.update({ phase });
  } catch (err) {
    // The page's edge: a failed join is shown, and the visitor can try again.
    if (session === next) app.update({ phase: 'error', error: `${(err as Error).name}: ${(err as Error).message}` });
  }
  void cache.refresh();
}

root.actions = {
  setBudget: (bytes) => app.update({ budgetBytes: bytes, budgetFromUser: true, budgetSource: null }),
  contribute: () => {
    void persistence.request();
    void join(app.get().budgetBytes, 'contributing');
  },
  leave: () => void join(0, 'watching'),
  send: (text) => void chat.send(text),
  stopReply: () => chat.stop(),
  clearChat: () => chat.clear(),
  clearCache: () => void cache.clear(),
};
document.body.append(root);

// Once this tab's stage has loaded, its pieces are in IndexedDB: show them under "cached".
let stageWasLoaded = false;
app.subscribe((s) => {
  if (s.stageLoaded && !stageWasLoaded) void cache.refresh();
  stageWasLoaded = s.stageLoaded;
});

void detectGpu().then((detection) => {
  app.update({ detection });
  // The detected default; a budget the visitor typed wins (docs/web-page.md, "Memory budget").
  if (app.get().budgetFromUser) return;
  const deviceMemory = (navigator as { deviceMemory?: number }).deviceMemory;
  const budget = defaultMemoryBudget({
    ...(detection.state === 'webgpu' && detection.limits !== undefined ? { gpu: detection.limits } : {}),
    ...(deviceMemory === undefined ? {} : { deviceMemoryGiB: deviceMemory }),
  });
  app.update({ budgetBytes: budget.bytes, budgetSource: budget.source });
});
void persistence.show();
void cache.refresh();
if (modelId !== null) {
  await join(0, 'watching');
} else {
  // A room that names no model: the shipped page shows "No model in this room"; test builds open a bare lobby.
  testHooks?.startLobby({ createSignaling: (caps) => createSignaling(caps), createTransport, app });
}
