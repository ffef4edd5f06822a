// The public surface of a whole Node peer (docs/ring.md): options and result of `startNodePeer`
// (node-peer-runtime.ts). Kept in its own file so the CLI and the HTTP API can code against it.
import type { PeerId } from '../../shared/ids.ts';
import type { ModelManifest } from '../../shared/model/manifest.ts';
import type { Requester } from '../../shared/ring/requester.ts';
import type { HopTrace } from '../../shared/ring/ring-link.ts';
import type { RingPeerEvent } from '../../shared/ring/ring-peer.ts';
import type { Tokenizer } from '../../shared/tokenizer/tokenizer.ts';
import type { TensorDtype } from '../../shared/wire/frame-types.ts';
import type { IceServer } from '../transport/node-data-peer.ts';
import type { StageFault } from './fault-injection.ts';
import type { NodeDevice } from '../engine/ort-node-engine.ts';
import type { KvDtype } from '../../shared/graph/build-stage-graph.ts';

export interface NodePeerOptions {
  /** `ws(s)://host:port/signal`. */
  readonly signalUrl: string;
  /** A local package directory (this peer seeds it), an http(s) package base URL, or a model id. */
  readonly model: string;
  /** Memory budget for weights + KV caches, bytes (what the planner sizes this peer's layers to). 0: seed/requester only. */
  readonly memoryBytes: number;
  /** Piece cache directory. */
  readonly cacheDir: string;
  /** Where pieces no peer has come from (http(s) base URL or directory). */
  readonly origin?: string;
  /** Bearer token for the origin. */
  readonly originToken?: string;
  /** Signaling join token, when the server requires one. */
  readonly joinToken?: string;
  /** STUN/TURN servers (a URL, or {urls, username, credential} for TURN); none by default. */
  readonly iceServers?: readonly (string | IceServer)[];
  /** libjuice bind address ('127.0.0.1' on loopback-only hosts and in tests). */
  readonly bindAddress?: string;
  /** MTU of WebRTC links to other Node peers, 1200–4096 (default: 4096 bound to loopback, else 1200). */
  readonly linkMtu?: number;
  /** Direct TCP links to other Node peers, not WebRTC (default: on bound to loopback; unencrypted). */
  readonly directLinks?: boolean;
  /** Fetch and keep every unit (a seeding server), not only this peer's partition. */
  readonly replicaFull?: boolean;
  /** Intra-op threads of this peer's stage (default: onnxruntime's choice). */
  readonly threads?: number;
  /**
   * Where this peer's stage runs (default 'cpu'); already checked (engine/device-choice.ts resolves
   * `--device`). Announced to the room as the member's `capabilities.engine` and in `status()`.
   */
  readonly device?: NodeDevice;
  /** Element type of the stage's KV cache (default fp32; fp16 halves its memory, OrtNodeEngineOptions.kvDtype). */
  readonly kvDtype?: KvDtype;
  /** Announced layer-forward time, ms (planner weight); default: not announced (treated as equal). */
  readonly speedMsPerLayer?: number;
  /** Element type of the activations this peer sends (default fp32; fp16 halves the bytes). */
  readonly activationDtype?: Extract<TensorDtype, 'fp32' | 'fp16'>;
  /** Requester tuning; defaults suit loopback and LAN rings. */
  readonly requester?: {
    /** Ring failures one request survives (default 3). */
    readonly maxRetries?: number;
    /** No token for this long fails the submission over (default 30 000 ms). */
    readonly stepTimeoutMs?: number;
    /** Wait for a ready ring this long before giving up with NoRingError (default 120 000 ms). */
    readonly replanWaitMs?: number;
    /** A request's first token within this long of the call, else RingTimeoutError (default 30 000 ms; docs/ring.md, "Deadlines"). */
    readonly firstTokenMs?: number;
    /** Each next token within this long of the one before, else RingTimeoutError (default 30 000 ms). */
    readonly nextTokenMs?: number;
  };
  /**
   * Verified compute when this peer is trusted (docs/ring.md, "Verified compute"): `rate` is the
   * share of submissions audited once every contributor of the ring is established (default 0.05;
   * 0 turns verification off), `newSteps` the verified steps below which a contributor is new
   * (always audited; default 64).
   */
  readonly verify?: { readonly rate?: number; readonly newSteps?: number };
  /** Test-only: perturbs this peer's stage outputs while it returns a fault (fault-injection.ts). */
  readonly faultInjection?: () => StageFault | undefined;
  /** Stage KV caches idle this long are freed (default 120 000 ms). */
  readonly sessionIdleMs?: number;
  /** How long to wait for the manifest (from the package, peers or origin), ms (default 60 000). */
  readonly manifestTimeoutMs?: number;
  /** Structured events for logs and tests (plan, stage loaded, ready ring, dropped frames…). */
  readonly onEvent?: (event: NodePeerEvent) => void;
  /** Sees every activation and token this peer sends and receives, timestamped (bench: per-hop latency). */
  readonly traceHops?: (e: HopTrace) => void;
}

/** What a peer reports about itself; `status()` returns the latest. */
export interface NodePeerStatus {
  readonly peerId: PeerId;
  /** The device this peer's stage runs on (what it announced as `capabilities.engine`). */
  readonly device: NodeDevice;
  /** Epoch of the latest plan received, or null before one. */
  readonly planEpoch: number | null;
  /** This peer's layers [start, end) in that plan, or null (seeder, no plan, insufficient memory). */
  readonly layers: { readonly start: number; readonly end: number } | null;
  /** Whether this peer's stage for the latest plan is loaded (true when it holds no layers). */
  readonly loaded: boolean;
  /** The latest plan's ring (peer ids, stage 0 first) once every stage reported ready; else null. */
  readonly readyRing: readonly PeerId[] | null;
  /** Set when the latest plan says the room lacks memory: bytes one more peer would need. */
  readonly missingBytes: number | null;
  /** Piece progress of the swarm. */
  readonly pieces: {
    readonly bytesDone: number;
    readonly bytesTotal: number;
    readonly fromCache: number;
    readonly fromPeers: number;
    readonly fromOrigin: number;
    readonly served: number;
  };
  /** Members of the room, this peer included. */
  readonly members: number;
}

/** Structured events of the ring part (plan received, stage loaded, ring ready, drops, errors). */
export type NodePeerEvent = RingPeerEvent;

export interface NodePeer {
  readonly peerId: PeerId;
  readonly modelId: string;
  readonly manifest: ModelManifest;
  /** The model's tokenizer (from the package, origin or peers; hash-checked); null when none came. */
  readonly tokenizer: Tokenizer | null;
  /** The tokenizer file (chat templates read BOS/EOS text from it); null with `tokenizer`. */
  readonly tokenizerBytes: Uint8Array | null;
  /** Generates through the ring; any peer can be a requester. */
  readonly requester: Requester;
  status(): NodePeerStatus;
  /** Cancels open requests, frees the stage, leaves the room. */
  close(): Promise<void>;
}
