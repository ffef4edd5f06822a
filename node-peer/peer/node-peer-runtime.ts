// A whole Node peer (docs/ring.md, "Running it"): the shared peer core (shared/peer) with Node's
// parts (piece-peer.ts `nodeJoinDeps`), this peer's stage on onnxruntime-node, fault injection for
// tests and the signaling refusals an operator must see. Types in node-peer-types.ts; the CLI
// (`node-peer start`) and the HTTP API build on `startNodePeer`.
import { startPeer } from '../../shared/peer/peer-core.ts';
import { SignalingServerError } from '../../shared/signaling/errors.ts';
import { ERROR_CODES } from '../../shared/signaling/protocol.ts';
import { nodeSha256Hex } from '../crypto/node-sha256.ts';
import { OrtNodeEngine } from '../engine/ort-node-engine.ts';
import type { IceServer } from '../transport/node-data-peer.ts';
import { definedOnly } from '../../shared/util/defined-only.ts';
import { faultyEngine } from './fault-injection.ts';
import type { NodePeer, NodePeerOptions, NodePeerStatus } from './node-peer-types.ts';
import { nodeJoinDeps } from './piece-peer.ts';

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
  const join = await nodeJoinDeps({
    signalUrl: opts.signalUrl,
    model: opts.model,
    cacheDir: opts.cacheDir,
    replicaFull: opts.replicaFull ?? false,
    // A seed keeps its whole package in the swarm; others fetch units as plans give them layers.
    ...(seeds || opts.replicaFull === true ? {} : { layers: 'none' as const }),
    capabilities: { engine: device, memoryBytes: opts.memoryBytes, ...(opts.speedMsPerLayer === undefined ? {} : { speedMsPerLayer: opts.speedMsPerLayer }) },
    ...definedOnly({
      origin: opts.origin || undefined,
      originToken: opts.originToken || undefined,
      joinToken: opts.joinToken || undefined,
      bindAddress: opts.bindAddress || undefined,
      linkMtu: opts.linkMtu,
      directLinks: opts.directLinks,
      iceServers,
    }),
  });
  let offServerErrors = (): void => undefined;
  const core = await startPeer({
    ...join,
    // What the server refuses (a model report, a report over its caps, an eviction) reaches the
    // operator instead of vanishing: the peer otherwise just never sees a plan. Routine answers (a
    // signal to a member that just left) are not errors of this peer.
    onJoining: ({ signaling }) => {
      offServerErrors = signaling.on('error', (err) => {
        if (err instanceof SignalingServerError && OPERATOR_ERRORS.has(err.code)) opts.onEvent?.({ event: 'error', message: `signaling: ${err.message}` });
      });
    },
    createEngine: () => {
      const engine = new OrtNodeEngine({ device, kvDtype: opts.kvDtype ?? 'fp32', ...(opts.threads === undefined ? {} : { threads: opts.threads }) });
      return opts.faultInjection === undefined ? engine : faultyEngine(engine, opts.faultInjection);
    },
    ring: {
      dtype: opts.activationDtype ?? 'fp32',
      ...(opts.threads === undefined ? {} : { threads: opts.threads }),
      ...(opts.sessionIdleMs === undefined ? {} : { sessionIdleMs: opts.sessionIdleMs }),
      ...(opts.requester ? { requester: opts.requester } : {}),
      ...(opts.verify ? { verify: opts.verify } : {}),
      ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
      ...(opts.traceHops ? { trace: opts.traceHops } : {}),
    },
    ...(opts.manifestTimeoutMs === undefined ? {} : { manifestTimeoutMs: opts.manifestTimeoutMs }),
    sha256Hex: nodeSha256Hex,
  }).catch((err: unknown) => {
    offServerErrors();
    throw err;
  });
  let closing: Promise<void> | undefined;
  return {
    peerId: core.peerId,
    modelId: core.modelId,
    manifest: core.manifest,
    tokenizer: core.tokenizer,
    tokenizerBytes: core.tokenizerBytes,
    requester: core.requester,
    status(): NodePeerStatus {
      const p = core.swarm.progress();
      return {
        peerId: core.peerId,
        device,
        ...core.ring.status(),
        pieces: {
          bytesDone: p.bytesDone,
          bytesTotal: p.bytesTotal,
          fromCache: p.fromCache,
          fromPeers: p.fromPeers,
          fromOrigin: p.fromOrigin,
          served: p.served,
        },
        members: core.signaling.members.size,
      };
    },
    close: () =>
      (closing ??= (async () => {
        offServerErrors();
        await core.close();
      })()),
  };
}
