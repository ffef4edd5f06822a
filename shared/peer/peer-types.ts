// The surface of the one peer core (peer-core.ts): what a Node peer, the web page and the test
// peers inject, and the one handle they get back.
import type { Engine } from '../engine/engine.ts';
import type { PeerId } from '../ids.ts';
import type { ModelManifest } from '../model/manifest.ts';
import type { SwarmProgress } from '../pieces/progress.ts';
import type { Requester } from '../ring/requester.ts';
import type { HopTrace } from '../ring/ring-link.ts';
import type { RingPeer, RingPeerEvent, RingPeerOptions, RingPeerStatus, UnitSource } from '../ring/ring-peer.ts';
import type { Tokenizer } from '../tokenizer/tokenizer.ts';
import type { SwarmJoinDeps, SwarmPeer } from './join-swarm.ts';

/** How this peer's ring stage and requester behave (defaults: RingPeer's). Its memory is `capabilities.memoryBytes`. */
export interface RingOptions {
  /** Element type of the activations this peer sends (default fp32; fp16 halves the bytes). */
  readonly dtype?: 'fp32' | 'fp16';
  /** Intra-op threads of this peer's stage. */
  readonly threads?: number;
  /** Stage KV caches idle this long are freed. */
  readonly sessionIdleMs?: number;
  readonly requester?: RingPeerOptions['requester'];
  /** Verified compute when this peer is trusted (docs/ring.md, "Verified compute"). */
  readonly verify?: RingPeerOptions['verify'];
  /** Structured events: plan, stage loaded, ready ring, drops, errors. */
  readonly onEvent?: (e: RingPeerEvent) => void;
  /** Sees every activation and token sent and received (bench: per-hop latency). */
  readonly trace?: (e: HopTrace) => void;
  /** Wraps the swarm as the ring's unit source (the page checks storage before downloads). */
  readonly guardUnits?: (units: UnitSource, manifest: ModelManifest) => UnitSource;
}

export interface PeerDeps extends SwarmJoinDeps {
  /**
   * This peer's stage engine, created once the manifest is known; the core disposes it on close.
   * None: a pieces-only peer (no ring, no requester, no tokenizer).
   */
  readonly createEngine?: () => Engine;
  readonly ring?: RingOptions;
  /** How long to wait for the manifest (package, peers or origin), ms (default 60 000). */
  readonly manifestTimeoutMs?: number;
  /**
   * How long a peer without package or origin waits for a peer to send the tokenizer (default
   * 20 000 ms; then none). `false`: do not load it (test pages that speak token ids). Only a
   * peer with an engine loads it.
   */
  readonly tokenizerPeerWaitMs?: number | false;
  /** SHA-256 as hex for the tokenizer check (default WebCrypto). */
  readonly sha256Hex?: (d: Uint8Array) => Promise<string> | string;
  /** Told once the ring runs, before the tokenizer is loaded (the page mirrors plan and stage from then on). */
  readonly onRing?: (ring: RingPeer, manifest: ModelManifest) => void;
}

export interface PeerCoreStatus {
  readonly peerId: PeerId;
  /** The ring stage's status; null on a pieces-only peer. */
  readonly ring: RingPeerStatus | null;
  readonly pieces: SwarmProgress;
  /** Members of the room, this peer included. */
  readonly members: number;
}

export interface PeerCore extends SwarmPeer {
  readonly manifest: ModelManifest;
  /** This peer's ring stage and requester; null on a pieces-only peer. */
  readonly ring: RingPeer | null;
  readonly requester: Requester | null;
  /** The model's tokenizer (package, origin or peers; hash-checked); null when none came or none was asked for. */
  readonly tokenizer: Tokenizer | null;
  /** The tokenizer file (chat templates read BOS/EOS text from it). */
  readonly tokenizerBytes: Uint8Array | null;
  status(): PeerCoreStatus;
  /** Cancels open requests, frees the stage, leaves the room, disposes the engine: in that order. Idempotent. */
  close(): Promise<void>;
}

/** The handle of a peer started with an engine: it always has its ring stage and requester. */
export interface RingPeerCore extends PeerCore {
  readonly ring: RingPeer;
  readonly requester: Requester;
}
