import { freemem } from 'node:os';
import { RingmeshError } from '../../shared/errors.ts';
import { CLOSE_CODES } from '../../shared/signaling/close-codes.ts';
import { SignalingClosedError } from '../../shared/signaling/errors.ts';
import { DeviceUnavailableError } from '../engine/device-errors.ts';
import { startNodePeer } from '../peer/node-peer-runtime.ts';
import type { NodePeer } from '../peer/node-peer-types.ts';
import { formatBytes, toIceServer } from './option-parsers.ts';
import { resolveLogFormat } from './pretty-event.ts';
import { JoinRefusedError, probeSignaling, SignalingUnreachableError } from './signal-probe.ts';
import { listenApi, type ApiListener } from './start-api.ts';
import { resolveStartDevice } from './start-device.ts';
import { startPiecesOnlyPeer } from './start-pieces-only.ts';
import { EXIT, type StartOptions } from './start-options.ts';
import { checkLocalModel, ModelNotFoundError } from './start-preflight.ts';
import { createStartReporter } from './start-reporter.ts';
import { onStopSignals } from './start-shutdown.ts';

/** The model does not fit the memory the room's peers offer (the plan says how much is missing). */
export class ModelDoesNotFitError extends RingmeshError {
  constructor(
    readonly missingBytes: number,
    memoryBytes: number,
    waitedS: number,
  ) {
    super(
      `insufficient memory: the model needs ${formatBytes(missingBytes)} more than the room's peers offer ` +
        `(this peer: --memory ${formatBytes(memoryBytes)}; waited ${waitedS} s for more peers). ` +
        `Give this peer more --memory, start more peers, or raise --fit-timeout to wait longer`,
    );
  }
}

/** The runtime has no tokenizer (neither package nor origin gave one): the API cannot encode prompts. */
export class TokenizerUnavailableError extends RingmeshError {
  constructor(readonly modelId: string) {
    super(`model ${modelId}: no tokenizer available (from the package, peers or origin), expected one to serve --api-port`);
  }
}

/**
 * Pieces only, no ring stage: `--layers a:b`, or `--replica full` with neither --memory nor
 * --api-port (a seeding server that keeps every unit and serves pieces).
 */
const piecesOnly = (o: StartOptions): boolean => o.layers !== undefined || (o.replica === 'full' && o.memory === undefined && o.apiPort === undefined);

/** Exit code of a failed start (README, exit codes). */
function exitCodeOf(err: RingmeshError): number {
  if (err instanceof ModelDoesNotFitError) return EXIT.insufficientMemory;
  if (err instanceof SignalingUnreachableError) return EXIT.signalingUnreachable;
  if (err instanceof DeviceUnavailableError || err instanceof ModelNotFoundError) return EXIT.usage;
  return err instanceof JoinRefusedError ? EXIT.joinRefused : EXIT.error;
}

/** `node-peer start` after its flags parsed: runs until a signal (exit 0) or a failure (its exit code). */
export async function runStart(o: StartOptions): Promise<number> {
  const report = createStartReporter(process.stdout, { format: resolveLogFormat(o.logFormat, process.stdout.isTTY === true) });
  let peer: { close(): Promise<void> } | null = null;
  let api: ApiListener | null = null;
  onStopSignals(async (signal) => {
    report.event('stopping', { signal, openRequests: api?.openRequests ?? 0 });
    await api?.close(); // cancels open generations: their ring sessions end and free the stages' caches
    await peer?.close(); // leaves the room
    report.stop();
    return EXIT.ok;
  });

  try {
    // Everything a flag names is checked before any network: a wrong path, device or port ends
    // the start at once, not after the peer joined its room.
    await checkLocalModel(o.model);
    if (o.apiPort !== undefined) api = await listenApi(o);
    const device = piecesOnly(o) ? 'cpu' : await resolveStartDevice(o.device, report);
    await probeSignaling(o.signal);
    if (piecesOnly(o)) {
      const seeder = await startPiecesOnlyPeer(o, report);
      peer = seeder;
      if (api !== null) {
        api.serve(await seeder.localModel());
        report.event('api', { url: api.url });
      }
      await seeder.ready;
      return await new Promise<number>(() => undefined); // serve until a signal
    }
    const memoryBytes = o.memory ?? Math.floor(freemem() / 2);
    const node = await startNodePeer({
      signalUrl: o.signal,
      model: o.model,
      memoryBytes,
      cacheDir: o.cacheDir,
      ...(o.origin === undefined ? {} : { origin: o.origin }),
      ...(o.originToken === undefined ? {} : { originToken: o.originToken }),
      ...(o.token === undefined ? {} : { joinToken: o.token }),
      ...(o.iceServer === undefined ? {} : { iceServers: o.iceServer.map(toIceServer) }),
      ...(o.bindAddress === undefined ? {} : { bindAddress: o.bindAddress }),
      ...(o.linkMtu === undefined ? {} : { linkMtu: o.linkMtu }),
      ...(o.directLinks === undefined ? {} : { directLinks: o.directLinks }),
      ...(o.replica === 'full' ? { replicaFull: true } : {}),
      ...(o.threads === undefined ? {} : { threads: o.threads }),
      device,
      kvDtype: o.kvDtype,
      ...(o.verifyRate === undefined ? {} : { verify: { rate: o.verifyRate } }),
      requester: { firstTokenMs: o.firstTokenTimeout * 1000, nextTokenMs: o.tokenTimeout * 1000 },
      onEvent: (e) => {
        const { event, ...rest } = e;
        report.event(event, rest);
      },
    });
    peer = node;
    report.event('joined', { peerId: node.peerId, modelId: node.modelId, model: node.manifest.name, memoryBytes });
    const fit = watchFit(node, o.fitTimeout * 1000);
    const progress = setInterval(() => report.pieces(node.modelId, node.status()), 500);
    progress.unref();
    if (api !== null) {
      if (node.tokenizer === null) throw new TokenizerUnavailableError(node.modelId);
      api.serve({
        manifest: node.manifest,
        modelId: node.modelId,
        tokenizer: node.tokenizer,
        requester: node.requester,
        ...(node.tokenizerBytes === null ? {} : { tokenizerBytes: node.tokenizerBytes }), // BOS/EOS text for chat templates
        status: () => ({ ...node.status() }),
      });
      report.event('api', { url: api.url });
    }
    const missing = await fit;
    if (missing !== null) throw new ModelDoesNotFitError(missing, memoryBytes, o.fitTimeout);
    return await new Promise<number>(() => undefined);
  } catch (caught) {
    report.stop();
    // The CLI edge: typed errors become one clear line and an exit code.
    const err =
      caught instanceof SignalingClosedError && caught.code === CLOSE_CODES.unauthorized
        ? new JoinRefusedError(o.signal, caught.reason ?? '', { cause: caught })
        : caught;
    if (!(err instanceof RingmeshError)) throw err;
    process.stderr.write(`error: ${err.name}: ${err.message}\n`);
    await api?.close().catch(() => undefined);
    await peer?.close().catch(() => undefined); // best effort while exiting with the real error
    return exitCodeOf(err);
  }
}

/**
 * Resolves null once a plan gives the room enough memory; resolves with the missing bytes when the
 * room stays short for `timeoutMs` after the first plan that says so.
 */
function watchFit(node: NodePeer, timeoutMs: number): Promise<number | null> {
  return new Promise((resolve) => {
    let shortSince: number | null = null;
    const tick = setInterval(() => {
      const s = node.status();
      if (s.planEpoch === null) return;
      if (s.missingBytes === null) {
        shortSince = null;
        if (s.readyRing !== null) {
          clearInterval(tick);
          resolve(null);
        }
        return;
      }
      shortSince ??= Date.now();
      if (Date.now() - shortSince >= timeoutMs) {
        clearInterval(tick);
        resolve(s.missingBytes);
      }
    }, 200);
  });
}
