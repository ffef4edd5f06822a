// One peer, assembled once for every platform (docs/architecture.md, "One peer core"): signaling →
// transport → piece swarm → room links (join-swarm.ts) → manifest → ring stage + requester →
// tokenizer. The Node peer (node-peer/peer), the web page (web-peer/controllers/page-session.ts)
// and the test pages inject what is theirs (store, transport, engine, …) and get one handle.
import type { Engine } from '../engine/engine.ts';
import type { ModelManifest } from '../model/manifest.ts';
import { waitForManifest } from '../pieces/wait-for-manifest.ts';
import { RingPeer } from '../ring/ring-peer.ts';
import { abortable } from './abortable.ts';
import { ManifestTimeoutError, PeerStartAbortedError } from './errors.ts';
import { joinSwarm } from './join-swarm.ts';
import type { PeerCore, PeerCoreStatus, PeerDeps, RingPeerCore } from './peer-types.ts';
import { loadTokenizer, type LoadedTokenizer } from './tokenizer-loader.ts';

export type { PeerCore, PeerCoreStatus, PeerDeps, RingOptions, RingPeerCore } from './peer-types.ts';

const DEFAULT_MANIFEST_TIMEOUT_MS = 60_000;
const DEFAULT_TOKENIZER_PEER_WAIT_MS = 20_000;

/**
 * Joins the model's room, waits for the manifest and, with an engine, runs this peer's ring stage
 * and requester and loads the tokenizer. Rejects with ManifestTimeoutError, TokenizerMismatchError,
 * PeerStartAbortedError or the errors of joining; a failed start closes what it opened first.
 */
export function startPeer(d: PeerDeps & { readonly createEngine: () => Engine }): Promise<RingPeerCore>;
export function startPeer(d: PeerDeps): Promise<PeerCore>;
export async function startPeer(d: PeerDeps): Promise<PeerCore> {
  const joined = await joinSwarm(d);
  const { swarm, signaling, transport } = joined;
  const aborted = (): Error => new PeerStartAbortedError(d.modelId);
  let engine: Engine | undefined;
  let ring: RingPeer | null = null;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await ring?.close();
      await joined.close();
      await engine?.dispose();
    })());
  try {
    const timeoutMs = d.manifestTimeoutMs ?? DEFAULT_MANIFEST_TIMEOUT_MS;
    const waited = waitForManifest(swarm, timeoutMs, () => new ManifestTimeoutError(d.modelId, timeoutMs));
    const manifest: ModelManifest = await abortable(waited, d.signal, aborted);
    let loaded: LoadedTokenizer | null = null;
    if (d.createEngine !== undefined) {
      engine = d.createEngine();
      const r = d.ring ?? {};
      ring = new RingPeer({
        modelId: d.modelId,
        manifest,
        signaling,
        transport,
        engine,
        units: r.guardUnits?.(swarm, manifest) ?? swarm,
        pieces: swarm, // a trusted peer challenges contributor stages with it (docs/ring.md, "Proof of holding")
        linkThroughput: (peer) => swarm.peerThroughput(peer),
        bans: swarm, // one ban list for ring and pieces
        clock: d.clock,
        memoryBytes: d.capabilities.memoryBytes,
        ...(r.dtype === undefined ? {} : { dtype: r.dtype }),
        ...(r.threads === undefined ? {} : { threads: r.threads }),
        ...(r.sessionIdleMs === undefined ? {} : { sessionIdleMs: r.sessionIdleMs }),
        ...(r.requester === undefined ? {} : { requester: r.requester }),
        ...(r.verify === undefined ? {} : { verify: r.verify }),
        ...(r.onEvent === undefined ? {} : { onEvent: r.onEvent }),
        ...(r.trace === undefined ? {} : { trace: r.trace }),
      });
      d.onRing?.(ring, manifest);
      // After the ring is up: a peer fetching the tokenizer from peers takes part meanwhile.
      const peerWaitMs = d.tokenizerPeerWaitMs ?? DEFAULT_TOKENIZER_PEER_WAIT_MS;
      if (peerWaitMs !== false) {
        const sources = {
          swarm,
          clock: d.clock,
          peerWaitMs,
          ...(d.localPackage === undefined ? {} : { localPackage: d.localPackage }),
          ...(d.origin === undefined ? {} : { origin: d.origin }),
          ...(d.sha256Hex === undefined ? {} : { sha256Hex: d.sha256Hex }),
        };
        loaded = await abortable(loadTokenizer(manifest, sources), d.signal, aborted);
      }
    }
    const self = ring;
    return {
      ...joined,
      manifest,
      ring: self,
      requester: self?.requester ?? null,
      tokenizer: loaded?.tokenizer ?? null,
      tokenizerBytes: loaded?.bytes ?? null,
      status: (): PeerCoreStatus => ({
        peerId: joined.peerId,
        ring: self?.status() ?? null,
        pieces: swarm.progress(),
        members: signaling.members.size,
      }),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
