// The page's peer in the model's room: the shared peer core (shared/peer) with the page's parts
// injected by main.ts (IndexedDB store, origin, signaling, WebRTC transport, engine in a Worker),
// and its state mirrored into the app store for the UI.
import type { Engine } from '../../shared/engine/engine.ts';
import type { ModelManifest } from '../../shared/model/manifest.ts';
import type { Origin } from '../../shared/pieces/origin.ts';
import type { ModelStore } from '../../shared/pieces/piece-store.ts';
import { peerCapabilities } from '../../shared/peer/capabilities.ts';
import { PeerStartAbortedError } from '../../shared/peer/errors.ts';
import { startPeer, type RingPeerCore } from '../../shared/peer/peer-core.ts';
import type { Requester } from '../../shared/ring/requester.ts';
import type { RingPeer, RingPeerEvent, UnitSource } from '../../shared/ring/ring-peer.ts';
import { SignalingServerError } from '../../shared/signaling/errors.ts';
import type { SignalingClient } from '../../shared/signaling/signaling-client.ts';
import { ERROR_CODES, type Capabilities } from '../../shared/signaling/protocol.ts';
import type { Tokenizer } from '../../shared/tokenizer/tokenizer.ts';
import type { PeerTransport } from '../../shared/transport/peer-transport.ts';
import { systemClock } from '../../shared/util/clock.ts';
import type { AppState, RingMember } from '../state/app-state.ts';
import type { Store } from '../state/store.ts';
import { RateMeter, withStageMetrics } from './stage-metrics.ts';

export interface PeerSessionDeps {
  readonly modelId: string;
  readonly budgetBytes: number;
  readonly engineKind: 'webgpu' | 'wasm';
  readonly store: ModelStore;
  readonly origin: Origin | null;
  readonly createSignaling: (capabilities: Capabilities) => SignalingClient;
  readonly createTransport: (signaling: SignalingClient) => PeerTransport;
  readonly createEngine: () => Engine;
  readonly app: Store<AppState>;
  /** Wraps the swarm as the ring's unit source (the page's storage check before downloads). */
  readonly guardUnits?: (units: UnitSource, manifest: ModelManifest) => UnitSource;
  /** Called with the live signaling client and transport (the page's debug hook). */
  readonly onConnected?: (signaling: SignalingClient, transport: PeerTransport) => void;
}

export class PageSession {
  private signaling: SignalingClient | null = null;
  private ring: RingPeer | null = null;
  private core: RingPeerCore | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly meter = new RateMeter();
  private readonly abort = new AbortController();
  private starting: Promise<unknown> | null = null;
  private closed = false;
  tokenizer: Tokenizer | null = null;
  /** The tokenizer file, for the BOS/EOS text chat templates write. */
  tokenizerBytes: Uint8Array | null = null;
  manifest: ModelManifest | null = null;

  constructor(private readonly d: PeerSessionDeps) {}

  get requester(): Requester | null {
    return this.ring?.requester ?? null;
  }

  /**
   * Joins the room and takes part; resolves once the ring peer runs and the tokenizer came (from
   * the origin, else from peers) or did not. The stage loads as plans come.
   */
  async start(): Promise<void> {
    const { app } = this.d;
    const started = startPeer({
      modelId: this.d.modelId,
      capabilities: peerCapabilities({ kind: 'browser', engine: this.d.engineKind, memoryBytes: this.d.budgetBytes, modelId: this.d.modelId }),
      createSignaling: this.d.createSignaling,
      createTransport: this.d.createTransport,
      store: this.d.store,
      ...(this.d.origin === null ? {} : { origin: this.d.origin }),
      clock: systemClock,
      rng: Math.random,
      units: 'none', // the ring asks for this tab's units once a plan gives it layers
      replicaFull: false,
      createEngine: () => withStageMetrics(this.d.createEngine(), (n) => this.meter.add(n)),
      ring: { onEvent: (e) => this.onRingEvent(e), ...(this.d.guardUnits === undefined ? {} : { guardUnits: this.d.guardUnits }) },
      signal: this.abort.signal,
      onJoining: ({ signaling, swarm }) => {
        this.signaling = signaling;
        signaling.on('state', (s) => app.update({ signaling: s.state }));
        // A refusal from the server (a report over its caps, an eviction) is shown, not swallowed;
        // routine answers (a signal to a member that just left) are not.
        signaling.on('error', (err) => {
          if (err instanceof SignalingServerError && err.code !== ERROR_CODES.unknownPeer && err.code !== ERROR_CODES.rateLimited)
            app.update({ error: `signaling: ${err.message}` });
        });
        signaling.on('peer-joined', () => this.refresh());
        signaling.on('peer-left', () => this.refresh());
        swarm.on('progress', (p) => app.update({ pieces: p }));
      },
      onConnected: ({ signaling, transport }) => {
        this.d.onConnected?.(signaling, transport);
        app.update({ peerId: signaling.peerId ?? null });
      },
      onRing: (ring, manifest) => {
        if (this.closed) return;
        this.ring = ring;
        this.manifest = manifest;
        app.update({ modelName: manifest.name, numLayers: manifest.architecture.numLayers });
        this.timer = setInterval(() => this.refresh(), 500);
        this.refresh();
      },
    });
    this.starting = started.catch(() => undefined);
    let core: RingPeerCore;
    try {
      core = await started;
    } catch (err) {
      if (this.closed && err instanceof PeerStartAbortedError) return; // left before it was up
      throw err;
    }
    this.core = core;
    this.tokenizer = core.tokenizer;
    this.tokenizerBytes = core.tokenizerBytes;
    app.update({ chatReady: this.tokenizer !== null });
  }

  private onRingEvent(e: RingPeerEvent): void {
    if (this.closed) return; // a load failing as this session closes (the page rejoined) is not news
    if (e.event === 'plan') this.d.app.update({ ring: e.ring.map((s) => ({ peerId: s.peerId, start: s.start, end: s.end })) });
    if (e.event === 'error') this.d.app.update({ error: e.message });
    this.refresh();
  }

  private refresh(): void {
    const s = this.signaling;
    if (s === null || this.closed) return;
    const r = this.ring?.status();
    const links = new Map((r?.links ?? []).map((l) => [l.peer as string, { rttMs: l.rttMs, relayed: l.relayed, throughputBps: l.throughputBps }]));
    const members: RingMember[] = [...s.members.values()].map((m) => {
      const link = links.get(m.peerId);
      return { peerId: m.peerId, kind: m.capabilities.kind, memoryBytes: m.capabilities.memoryBytes, ...(link === undefined ? {} : { link }) };
    });
    this.d.app.update({
      members,
      tokensPerSecond: this.meter.rate(),
      tokensServed: this.meter.total,
      ...(r === undefined
        ? {}
        : { planEpoch: r.planEpoch, layers: r.layers, stageLoaded: r.loaded, ringReady: r.readyRing !== null, missingBytes: r.missingBytes }),
    });
  }

  /** Leaves the room; a start still under way is called off (it closes what it opened). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.abort.abort();
    await this.starting;
    await this.core?.close();
  }
}
