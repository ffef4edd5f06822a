// One browser peer in the model's room: signaling + WebRTC transport + piece swarm (IndexedDB
// store, origin fallback) + this tab's ring stage (engine in a Worker) + a requester for the chat.
// Everything concrete is injected by main.ts; this file wires it and mirrors state into the store.
import type { Engine } from '../../shared/engine/engine.ts';
import { sha256Hex } from '../../shared/crypto/sha256.ts';
import { RingmeshError } from '../../shared/errors.ts';
import type { ModelManifest } from '../../shared/model/manifest.ts';
import type { Origin } from '../../shared/pieces/origin.ts';
import { PieceSwarm } from '../../shared/pieces/piece-swarm.ts';
import type { ModelStore } from '../../shared/pieces/piece-store.ts';
import { linkSwarmToRoom } from '../../shared/pieces/room-links.ts';
import { waitForManifest } from '../../shared/pieces/wait-for-manifest.ts';
import type { Requester } from '../../shared/ring/requester.ts';
import { RingPeer, type RingPeerEvent, type UnitSource } from '../../shared/ring/ring-peer.ts';
import { systemClock } from '../../shared/util/clock.ts';
import type { SignalingClient } from '../../shared/signaling/signaling-client.ts';
import type { Capabilities } from '../../shared/signaling/protocol.ts';
import { createTokenizer } from '../../shared/tokenizer/create-tokenizer.ts';
import type { Tokenizer } from '../../shared/tokenizer/tokenizer.ts';
import type { PeerTransport } from '../../shared/transport/peer-transport.ts';
import type { AppState, RingMember } from '../state/app-state.ts';
import type { Store } from '../state/store.ts';
import { RateMeter, withStageMetrics } from './stage-metrics.ts';
import { SignalingServerError } from '../../shared/signaling/errors.ts';
import { ERROR_CODES } from '../../shared/signaling/protocol.ts';

/** The manifest did not arrive from peers or the origin in time. */
export class ManifestUnavailableError extends RingmeshError {
  constructor(
    readonly modelId: string,
    waitedMs: number,
  ) {
    super(`model ${modelId}: no manifest from peers or the origin after ${waitedMs} ms, expected a peer seeding it`);
  }
}

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
  private transport: PeerTransport | null = null;
  private swarm: PieceSwarm | null = null;
  private ring: RingPeer | null = null;
  private engine: Engine | null = null;
  private unlink: (() => void) | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly meter = new RateMeter();
  private closed = false;
  tokenizer: Tokenizer | null = null;
  /** The tokenizer file, for the BOS/EOS text chat templates write. */
  tokenizerBytes: Uint8Array | null = null;
  manifest: ModelManifest | null = null;

  constructor(private readonly d: PeerSessionDeps) {}

  get requester(): Requester | null {
    return this.ring?.requester ?? null;
  }

  /** Joins the room and takes part; resolves once the ring peer runs (the stage loads as plans come). */
  async start(): Promise<void> {
    const { app } = this.d;
    const signaling = this.d.createSignaling({
      kind: 'browser',
      engine: this.d.engineKind,
      memoryBytes: this.d.budgetBytes,
      modelsHeld: [],
      modelsWanted: [this.d.modelId],
    });
    this.signaling = signaling;
    const transport = this.d.createTransport(signaling);
    this.transport = transport;
    signaling.on('state', (s) => app.update({ signaling: s.state }));
    // A refusal from the server (a report over its caps, an eviction) is shown, not swallowed;
    // routine answers (a signal to a member that just left) are not.
    signaling.on('error', (err) => {
      if (err instanceof SignalingServerError && err.code !== ERROR_CODES.unknownPeer && err.code !== ERROR_CODES.rateLimited)
        app.update({ error: `signaling: ${err.message}` });
    });
    signaling.on('peer-joined', () => this.refresh());
    signaling.on('peer-left', () => this.refresh());
    this.swarm = new PieceSwarm({
      modelId: this.d.modelId,
      store: this.d.store,
      ...(this.d.origin === null ? {} : { origin: this.d.origin }),
      units: () => [], // the ring asks for this tab's units once a plan gives it layers
      replicaFull: false,
      self: () => signaling.peerId ?? '',
      clock: systemClock,
      rng: Math.random,
    });
    const swarm = this.swarm;
    swarm.on('progress', (p) => app.update({ pieces: p }));
    await signaling.connect();
    if (this.closed) return;
    this.d.onConnected?.(signaling, transport);
    app.update({ peerId: signaling.peerId ?? null });
    this.unlink = linkSwarmToRoom({ signaling, transport, swarm });
    await swarm.start();
    const manifest = await waitForManifest(swarm, 60_000, () => new ManifestUnavailableError(this.d.modelId, 60_000));
    if (this.closed) return;
    this.manifest = manifest;
    app.update({ modelName: manifest.name, numLayers: manifest.architecture.numLayers });
    this.engine = withStageMetrics(this.d.createEngine(), (n) => this.meter.add(n));
    this.ring = new RingPeer({
      modelId: this.d.modelId,
      manifest,
      signaling,
      transport,
      engine: this.engine,
      units: this.d.guardUnits?.(swarm, manifest) ?? swarm,
      bans: swarm,
      clock: systemClock,
      memoryBytes: this.d.budgetBytes,
      onEvent: (e) => this.onRingEvent(e),
    });
    this.timer = setInterval(() => this.refresh(), 500);
    this.refresh();
    this.tokenizer = await this.loadTokenizer(manifest);
    app.update({ chatReady: this.tokenizer !== null });
  }

  private async loadTokenizer(manifest: ModelManifest): Promise<Tokenizer | null> {
    if (this.d.origin === null) return null;
    const entry = manifest.tokenizer;
    const bytes = await this.d.origin.read(entry.file);
    const hash = await sha256Hex(bytes);
    if (hash !== entry.sha256) throw new RingmeshError(`tokenizer ${entry.file}: sha256 ${hash}, expected ${entry.sha256}`);
    this.tokenizerBytes = bytes;
    this.swarm?.holdTokenizer(bytes); // served to peers joined by model id without an origin
    return createTokenizer(entry, bytes, manifest.architecture.vocabSize);
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
    const links = new Map((r?.links ?? []).map((l) => [l.peer as string, { rttMs: l.rttMs, relayed: l.relayed }]));
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

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    await this.ring?.close();
    this.unlink?.();
    this.swarm?.close();
    await this.transport?.close();
    await this.signaling?.close();
    await this.engine?.dispose();
  }
}
