// A whole Node peer (docs/ring.md, "Running it"): the piece swarm (piece-peer.ts) + this peer's ring stage on
// onnxruntime-node + a requester, all on one signaling client and one transport. Types in
// node-peer-types.ts; the CLI (`node-peer start`) and the HTTP API build on `startNodePeer`.
import { asPeerId } from '../../shared/ids.ts';
import { systemClock } from '../../shared/util/clock.ts';
import { RingPeer } from '../../shared/ring/ring-peer.ts';
import { OrtNodeEngine } from '../engine/ort-node-engine.ts';
import { waitForManifest } from '../../shared/pieces/wait-for-manifest.ts';
import { ManifestTimeoutError } from '../ring/node-errors.ts';
import { loadTokenizer } from '../ring/swarm-ring-inputs.ts';
import type { IceServer } from '../transport/node-data-peer.ts';
import type { NodePeer, NodePeerOptions, NodePeerStatus } from './node-peer-types.ts';
import { faultyEngine } from './fault-injection.ts';
import { startPiecePeer } from './piece-peer.ts';
import { SignalingServerError } from '../../shared/signaling/errors.ts';
import { ERROR_CODES } from '../../shared/signaling/protocol.ts';

/** Server errors an operator must see: this peer's reports or membership were refused. */
const OPERATOR_ERRORS: ReadonlySet<string> = new Set([
  ERROR_CODES.modelRefused,
  ERROR_CODES.reportRefused,
  ERROR_CODES.evicted,
  ERROR_CODES.addressLimit,
  ERROR_CODES.unauthorized,
]);

export type { NodePeer, NodePeerEvent, NodePeerOptions, NodePeerStatus } from './node-peer-types.ts';

const MODEL_ID = /^[0-9a-f]{64}$/;
/** A peer without package or origin waits this long for a peer to send it the tokenizer (then: none). */
const TOKENIZER_PEER_WAIT_MS = 20_000;

/**
 * Joins the model's room, swarms its pieces and takes part in the ring: on every plan this peer
 * fetches the units of its layers, loads them, reports ready and serves its stage; `requester`
 * generates through the ring. A peer given a local package directory seeds the whole package.
 * Resolves once the manifest is known; rejects with ManifestTimeoutError, TokenizerMismatchError
 * or the signaling/transport errors of joining.
 */
export async function startNodePeer(opts: NodePeerOptions): Promise<NodePeer> {
  const device = opts.device ?? 'cpu';
  const seeds = !MODEL_ID.test(opts.model) && !/^https?:\/\//.test(opts.model);
  const iceServers: IceServer[] | undefined = opts.iceServers?.map((s) => (typeof s === 'string' ? { urls: s } : s));
  const piece = await startPiecePeer({
    signalUrl: opts.signalUrl,
    model: opts.model,
    cacheDir: opts.cacheDir,
    replicaFull: opts.replicaFull ?? false,
    // A seed keeps its whole package in the swarm; others fetch units as plans give them layers.
    ...(seeds || opts.replicaFull === true ? {} : { layers: 'none' as const }),
    capabilities: { engine: device, memoryBytes: opts.memoryBytes, ...(opts.speedMsPerLayer === undefined ? {} : { speedMsPerLayer: opts.speedMsPerLayer }) },
    ...(opts.origin ? { origin: opts.origin } : {}),
    ...(opts.originToken ? { originToken: opts.originToken } : {}),
    ...(opts.joinToken ? { joinToken: opts.joinToken } : {}),
    ...(opts.bindAddress ? { bindAddress: opts.bindAddress } : {}),
    ...(opts.linkMtu !== undefined ? { linkMtu: opts.linkMtu } : {}),
    ...(opts.directLinks !== undefined ? { directLinks: opts.directLinks } : {}),
    ...(iceServers ? { iceServers } : {}),
  });
  // What the server refuses (a model report, a report over its caps, an eviction) reaches the
  // operator instead of vanishing: the peer otherwise just never sees a plan. Routine answers (a
  // signal to a member that just left) are not errors of this peer.
  const offServerErrors = piece.signaling.on('error', (err) => {
    if (err instanceof SignalingServerError && OPERATOR_ERRORS.has(err.code)) opts.onEvent?.({ event: 'error', message: `signaling: ${err.message}` });
  });
  const engine = new OrtNodeEngine({ device, ...(opts.threads === undefined ? {} : { threads: opts.threads }) });
  let ring: RingPeer | undefined;
  const manifestTimeoutMs = opts.manifestTimeoutMs ?? 60_000;
  try {
    const manifest = await waitForManifest(piece.swarm, manifestTimeoutMs, () => new ManifestTimeoutError(piece.modelId, manifestTimeoutMs));
    const peerId = piece.signaling.peerId ?? asPeerId('');
    ring = new RingPeer({
      modelId: piece.modelId,
      manifest,
      signaling: piece.signaling,
      transport: piece.transport,
      engine: opts.faultInjection === undefined ? engine : faultyEngine(engine, opts.faultInjection),
      units: piece.swarm,
      pieces: piece.swarm, // a trusted peer challenges contributor stages with it (docs/ring.md, "Proof of holding")
      bans: piece.swarm,
      clock: systemClock,
      dtype: opts.activationDtype ?? 'fp32',
      memoryBytes: opts.memoryBytes,
      ...(opts.threads === undefined ? {} : { threads: opts.threads }),
      ...(opts.sessionIdleMs === undefined ? {} : { sessionIdleMs: opts.sessionIdleMs }),
      ...(opts.requester ? { requester: opts.requester } : {}),
      ...(opts.verify ? { verify: opts.verify } : {}),
      ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
      ...(opts.traceHops ? { trace: opts.traceHops } : {}),
    });
    const r = ring;
    // After the ring is up: a peer fetching the tokenizer from peers takes part meanwhile.
    const tokenizer = await loadTokenizer(piece.swarm, piece.files, manifest, TOKENIZER_PEER_WAIT_MS);
    let closing: Promise<void> | undefined;
    return {
      peerId,
      modelId: piece.modelId,
      manifest,
      tokenizer,
      requester: r.requester,
      status(): NodePeerStatus {
        const p = piece.swarm.progress();
        return {
          peerId,
          device,
          ...r.status(),
          pieces: {
            bytesDone: p.bytesDone,
            bytesTotal: p.bytesTotal,
            fromCache: p.fromCache,
            fromPeers: p.fromPeers,
            fromOrigin: p.fromOrigin,
            served: p.served,
          },
          members: piece.signaling.members.size,
        };
      },
      close: () =>
        (closing ??= (async () => {
          offServerErrors();
          await r.close();
          await piece.close();
          await engine.dispose();
        })()),
    };
  } catch (err) {
    offServerErrors();
    await ring?.close();
    await piece.close();
    await engine.dispose();
    throw err;
  }
}
