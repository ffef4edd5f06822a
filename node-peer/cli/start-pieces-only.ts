import { stat } from 'node:fs/promises';
import { RingmeshError } from '../../shared/errors.ts';
import { openLocalModel, type LocalModel } from '../api/local-requester.ts';
import { OrtNodeEngine } from '../engine/ort-node-engine.ts';
import { startPiecePeer } from '../peer/piece-peer.ts';
import { definedOnly } from '../../shared/util/defined-only.ts';
import { toIceServer } from './option-parsers.ts';
import type { StartOptions } from './start-options.ts';
import type { StartReporter } from './start-reporter.ts';

/** --api-port without the ring needs the package on this machine. */
export class LocalModelRequiredError extends RingmeshError {
  constructor(readonly model: string) {
    super(`--model ${model}: serving the API without a ring needs a local package directory, expected one`);
  }
}

export interface PiecesOnlyPeer {
  /** Resolves when every wanted piece is verified. */
  readonly ready: Promise<void>;
  /** The whole model on this process (for --api-port without a ring). */
  localModel(): Promise<LocalModel>;
  close(): Promise<void>;
}

/**
 * A pieces-only peer (`--layers a:b`, or `--replica full` with neither --memory nor --api-port: a
 * seeding server): the peer core without an engine, so it never loads onnxruntime or offers a
 * stage; it swarms the pieces and, with --api-port, answers from a whole local copy of the model.
 */
export async function startPiecesOnlyPeer(o: StartOptions, report: StartReporter): Promise<PiecesOnlyPeer> {
  const peer = await startPiecePeer({
    signalUrl: o.signal,
    model: o.model,
    cacheDir: o.cacheDir,
    replicaFull: o.replica === 'full',
    ...definedOnly({
      origin: o.origin || undefined,
      originToken: o.originToken || undefined,
      joinToken: o.token || undefined,
      layers: o.layers,
      bindAddress: o.bindAddress || undefined,
      linkMtu: o.linkMtu,
      directLinks: o.directLinks,
      iceServers: o.iceServer?.map(toIceServer),
    }),
    onCorrupt: (err) => report.event('corrupt-piece', { name: err.name, hash: err.hash, message: err.message }),
  });
  report.event('joined', { modelId: peer.modelId, peerId: peer.peerId });
  peer.swarm.on('progress', (p) => report.progress(p));
  peer.swarm.on('peer-dropped', (e) => report.event('peer-dropped', { peer: e.peer, message: e.message }));
  peer.swarm.on('origin-failed', (e) => report.event('origin-failed', { name: e.name, message: e.message }));
  const ready = peer.swarm.ready.then((manifest) => report.event('ready', { units: manifest.units.length, ...peer.swarm.progress() }));
  let local: LocalModel | null = null;
  return {
    ready,
    async localModel() {
      const isDir = await stat(o.model).then(
        (s) => s.isDirectory(),
        () => false,
      );
      if (!isDir) throw new LocalModelRequiredError(o.model);
      local ??= await openLocalModel(
        o.model,
        new OrtNodeEngine({ device: 'cpu', kvDtype: o.kvDtype, ...(o.threads === undefined ? {} : { threads: o.threads }) }),
        o.threads,
      );
      return local;
    },
    async close() {
      await local?.close();
      await peer.close();
    },
  };
}
