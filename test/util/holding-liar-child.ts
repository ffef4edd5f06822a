// A ring member that lies about holding its layers, for the proof-of-holding adversary test: the
// real piece peer (it swarms nothing of its own: `layers: 'none'`), plus a listener that reports
// `ready` for every plan that gives it layers, at once, without fetching or loading anything.
// `mode: 'reject'` leaves its swarm to answer as it does (REJECT missing: it holds no unit);
// `mode: 'garbage'` answers every REQUEST for a unit piece with random bytes of the asked length.
// Argv[2]: JSON {signalUrl, model, cacheDir, joinToken, memoryBytes, mode}. Prints JSON event lines.
import { randomBytes } from 'node:crypto';
import { startPiecePeer } from '../../node-peer/peer/piece-peer.ts';
import { ManifestTimeoutError } from '../../shared/peer/errors.ts';
import { waitForManifest } from '../../shared/pieces/wait-for-manifest.ts';
import { MODEL_REPORT, parseRingPlan, READY_REPORT, type ModelReportData } from '../../shared/ring/ring-plan.ts';
import type { PeerConnection, PeerConnectionEvents } from '../../shared/transport/transport.ts';
import type { Frame } from '../../shared/wire/frame-types.ts';

interface LiarOptions {
  readonly signalUrl: string;
  readonly model: string;
  readonly cacheDir: string;
  readonly joinToken: string;
  readonly memoryBytes: number;
  readonly mode: 'reject' | 'garbage';
}

const o = JSON.parse(process.argv[2] ?? '{}') as LiarOptions;
const out = (e: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(e)}\n`);

/** Takes unit REQUESTs away from the swarm and answers them with random bytes. */
const garbage = (conn: PeerConnection): PeerConnection =>
  new Proxy(conn, {
    get(target, prop, receiver) {
      if (prop !== 'on') {
        const v: unknown = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      }
      return <K extends keyof PeerConnectionEvents>(event: K, listener: (p: PeerConnectionEvents[K]) => void): (() => void) => {
        if (event !== 'frame') return target.on(event, listener);
        return target.on('frame', (f: Frame) => {
          if (f.type === 'REQUEST' && f.unit !== 'manifest') {
            out({ event: 'lied', unit: f.unit, piece: f.piece, offset: f.offset, length: f.length });
            void target
              .send(
                { type: 'PIECE', requestId: f.requestId, unit: f.unit, piece: f.piece, offset: f.offset, data: new Uint8Array(randomBytes(f.length)) },
                'bulk',
              )
              .catch(() => undefined);
            return;
          }
          (listener as (p: Frame) => void)(f);
        });
      };
    },
  });

const peer = await startPiecePeer({
  signalUrl: o.signalUrl,
  model: o.model,
  cacheDir: o.cacheDir,
  joinToken: o.joinToken,
  replicaFull: false,
  layers: 'none',
  bindAddress: '127.0.0.1',
  capabilities: { memoryBytes: o.memoryBytes },
  ...(o.mode === 'garbage' ? { decorateConnection: garbage } : {}),
});
const self = peer.signaling.peerId;
out({ event: 'started', peerId: self, modelId: peer.modelId });
peer.signaling.on('state', (s) => out({ event: 'signaling-state', state: s.state, code: s.code ?? null, reason: s.reason ?? null }));
peer.signaling.on('plan', (p) => {
  const plan = parseRingPlan(p.plan);
  if (plan?.kind !== 'planned' || !plan.ring.some((s) => s.peerId === self)) return;
  try {
    peer.signaling.report(READY_REPORT, { planEpoch: p.epoch });
    out({ event: 'claimed-ready', epoch: p.epoch });
  } catch {
    // Not joined (evicted): nothing to claim.
  }
});
// Like an honest peer, report the model once the manifest is in: the plan that follows (a new
// member's first model report re-plans the room) is one the listener above hears.
void waitForManifest(peer.swarm, 60_000, () => new ManifestTimeoutError(peer.modelId, 60_000))
  .then((manifest) => {
    const model: ModelReportData = { modelId: peer.modelId, manifest };
    peer.signaling.report(MODEL_REPORT, model);
  })
  .catch((err: unknown) => out({ event: 'report-failed', message: String(err) }));
process.stdin.on('data', () => void peer.close().then(() => process.exit(0)));
