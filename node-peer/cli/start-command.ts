import { readFile } from 'node:fs/promises';
import { freemem, homedir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { RingmeshError } from '../../shared/errors.ts';
import type { ModelManifest } from '../../shared/model/manifest.ts';
import { startNodePeer } from '../peer/node-peer-runtime.ts';
import type { NodePeer } from '../peer/node-peer-types.ts';
import { formatBytes, parseByteSize, parseIceServer, parsePort, parseLinkMtu, parseOnOff, parseSeconds, parseSignalUrl, parseThreads, toIceServer } from './option-parsers.ts';
import { parseApiKey, parseCorsOrigins, parseDevice, parseMaxBody, parseMaxConcurrent, parsePublicHosts } from './option-parsers.ts';
import { DEFAULT_MAX_BODY_BYTES } from '../api/api-server.ts';
import { DEFAULT_MAX_CONCURRENT } from '../api/generation-slots.ts';
import { isLoopbackHost } from '../api/host-policy.ts';
import { CLOSE_CODES } from '../../shared/signaling/close-codes.ts';
import { SignalingClosedError } from '../../shared/signaling/errors.ts';
import { JoinRefusedError, probeSignaling, SignalingUnreachableError } from './signal-probe.ts';
import { startLegacyPiecePeer } from './start-legacy.ts';
import { serveApi, type RunningApi } from './start-api.ts';
import { createStartReporter } from './start-reporter.ts';
import { resolveStartDevice } from './start-device.ts';
import type { DeviceRequest } from '../engine/device-choice.ts';
import { DeviceUnavailableError } from '../engine/device-errors.ts';

export interface StartOptions {
  signal: string;
  model: string;
  memory?: number;
  apiPort?: number;
  apiHost: string;
  apiKey?: string;
  apiMaxBody: number;
  apiMaxConcurrent: number;
  corsOrigin?: string[];
  apiPublicHost?: string[];
  cacheDir: string;
  token?: string;
  iceServer?: string[];
  origin?: string;
  originToken?: string;
  replica?: 'full';
  layers?: { start: number; end: number };
  bindAddress?: string;
  linkMtu?: number;
  directLinks?: boolean;
  threads?: number;
  device: DeviceRequest;
  verifyRate?: number;
  fitTimeout: number;
}

/** Exit codes of `node-peer start` (README, docs/troubleshooting.md). */
export const EXIT = { ok: 0, error: 1, usage: 2, insufficientMemory: 3, signalingUnreachable: 4, joinRefused: 5 } as const;

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

const defaultCacheDir = (): string => join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'ringmesh');

function parseReplica(v: string): 'full' {
  if (v !== 'full') throw new InvalidArgumentError('only "full" is supported');
  return v;
}

function parseLayers(v: string): { start: number; end: number } {
  const m = /^(\d+):(\d+)$/.exec(v);
  if (!m || Number(m[1]) >= Number(m[2])) throw new InvalidArgumentError('expected start:end with start < end, e.g. 0:8');
  return { start: Number(m[1]), end: Number(m[2]) };
}

const env = (name: string): string => `RINGMESH_${name}`;

/**
 * `node-peer start`: join the model's room, take the layers the plan gives this peer (sized to
 * --memory), swarm the pieces, serve the ring, and with --api-port serve the OpenAI-compatible API
 * whose requests run through the ring. Runs until SIGINT/SIGTERM.
 */
export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('join a ringmesh swarm: serve a share of the model\'s layers in the ring, swap weight pieces with peers, and optionally serve an OpenAI-compatible API')
    .addOption(new Option('--signal <url>', 'signaling server WebSocket URL, ws(s)://host:port/signal').env(env('SIGNAL')).argParser(parseSignalUrl).makeOptionMandatory())
    .addOption(new Option('--model <dir|url|id>', 'model package: a local directory (this peer seeds it), an http(s) base URL, or a model id (64 hex digits; pieces come from peers or --origin)').env(env('MODEL')).makeOptionMandatory())
    .addOption(new Option('--memory <size>', 'memory this peer offers for weights + KV cache, e.g. 8GiB, 512MiB; 0 = seed pieces and make requests only (default: half the free memory)').env(env('MEMORY')).argParser(parseByteSize))
    .addOption(new Option('--api-port <port>', 'serve the OpenAI-compatible HTTP API on this port (0 = any free port); no API without it').env(env('API_PORT')).argParser(parsePort))
    .addOption(new Option('--api-host <host>', 'interface the API listens on; anything but loopback needs --api-key').env(env('API_HOST')).default('127.0.0.1'))
    .addOption(new Option('--api-key <key>', 'require "Authorization: Bearer <key>" on every API request (required with a non-loopback --api-host)').env(env('API_KEY')).argParser(parseApiKey))
    .addOption(new Option('--api-max-body <size>', 'largest API request body; larger ones get 413').env(env('API_MAX_BODY')).argParser(parseMaxBody).default(DEFAULT_MAX_BODY_BYTES, '4MiB'))
    .addOption(new Option('--api-max-concurrent <n>', 'generations the API runs at once; more get 429 with Retry-After').env(env('API_MAX_CONCURRENT')).argParser(parseMaxConcurrent).default(DEFAULT_MAX_CONCURRENT))
    .addOption(new Option('--cors-origin <origin>', 'web origin (scheme://host[:port]) allowed to call the API from a browser (repeatable or comma-separated); none by default: requests with another Origin get 403').env(env('CORS_ORIGIN')).argParser(parseCorsOrigins))
    .addOption(new Option('--api-public-host <name>', 'a host name clients reach the API by, beyond its bind address and loopback (repeatable or comma-separated); other Host headers get 421').env(env('API_PUBLIC_HOST')).argParser(parsePublicHosts))
    .addOption(new Option('--cache-dir <dir>', 'piece cache directory').env(env('CACHE_DIR')).default(defaultCacheDir()))
    .addOption(new Option('--token <token>', 'join token, when the signaling server requires one (ringmesh-signal --mint-token)').env(env('TOKEN')))
    .addOption(new Option('--join-token <token>').hideHelp())
    .addOption(new Option('--ice-server <url>', 'STUN/TURN server: stun:host:port or turn:user:password@host:port (repeatable; comma-separated in the env var); none by default').env(env('ICE_SERVERS')).argParser(parseIceServer))
    .addOption(new Option('--origin <url|dir>', 'where pieces no peer has come from (http(s) base URL or directory)').env(env('ORIGIN')))
    .addOption(new Option('--origin-token <token>', 'bearer token for the origin').env(env('ORIGIN_TOKEN')))
    .addOption(new Option('--replica <mode>', '"full": fetch and keep every unit, not only this peer\'s layers (without --memory and --api-port: a pure seeder, no ring stage)').env(env('REPLICA')).argParser(parseReplica))
    .addOption(new Option('--threads <n>', 'intra-op threads of this peer\'s stage').env(env('THREADS')).argParser(parseThreads))
    .addOption(new Option('--device <device>', 'where this peer\'s stage runs: auto (CUDA, else WebGPU, else CPU; logs what it picked and why), cpu, cuda or webgpu (an explicit GPU device that is not available exits with code 2)').env(env('DEVICE')).argParser(parseDevice).default('auto'))
    .addOption(new Option('--verify-rate <r>', 'trusted peers: share of requests whose contributor stages are re-run and checked once they are established (new contributors: every request), 0–1; 0 = off (default 0.05, docs/ring.md "Verified compute")').env(env('VERIFY_RATE')).argParser(parseVerifyRate))
    .addOption(new Option('--fit-timeout <seconds>', 'how long to wait for enough peers when the room\'s memory is short of the model, before exiting with code 3').env(env('FIT_TIMEOUT')).argParser(parseSeconds).default(60))
    .addOption(new Option('--bind-address <ip>', 'local address for WebRTC (127.0.0.1 on loopback-only hosts)').env(env('BIND_ADDRESS')))
    .addOption(new Option('--link-mtu <bytes>', 'MTU of WebRTC links to other Node peers, 1200–4096 (default: 4096 with a loopback --bind-address, else 1200; raise it on a LAN that carries IP fragments)').env(env('LINK_MTU')).argParser(parseLinkMtu))
    .addOption(new Option('--direct-links <on|off>', 'direct TCP links to other Node peers instead of WebRTC: much less CPU per byte, but not encrypted (default: on with a loopback --bind-address; turn it on only on a trusted network)').env(env('DIRECT_LINKS')).argParser(parseOnOff))
    .addOption(new Option('--layers <a:b>', 'pieces only: fetch the units of layers [a, b) and take no part in the ring').argParser(parseLayers))
    .addHelpText(
      'after',
      `
Every option can also come from the environment variable named after it (RINGMESH_SIGNAL, RINGMESH_MEMORY, …).

Examples:
  node-peer start --signal ws://127.0.0.1:8787/signal --model ./models/demo --memory 2GiB --api-port 8080
  RINGMESH_SIGNAL=wss://ring.example.org/signal RINGMESH_TOKEN=… node-peer start --model <model id> --memory 8GiB

Output: a progress bar on a terminal, otherwise one JSON line per event (joined, plan, progress,
ready, ring-ready, api, device, …). Exit codes: 0 stopped by SIGINT/SIGTERM, 1 runtime error, 2 bad flag
or an unavailable --device, 3 insufficient memory (the model does not fit the room), 4 signaling server unreachable,
5 join refused (the server wants a valid --token).`,
    )
    .action(async (o: StartOptions & { joinToken?: string; iceServer?: string[] | string }, cmd: Command) => {
      // A direct link's answer names this peer's address: a wildcard or none names nothing to dial.
      // An API beyond this machine without a key would serve (and spend the ring on) anyone who finds it.
      if (o.apiPort !== undefined && !isLoopbackHost(o.apiHost) && o.apiKey === undefined) {
        cmd.error(`error: option '--api-host ${o.apiHost}' is not loopback: it needs --api-key <key> (or RINGMESH_API_KEY), which every request must then send as "Authorization: Bearer <key>"`, { exitCode: 2, code: 'ringmesh.usage' });
      }
      if (o.directLinks === true && (o.bindAddress === undefined || o.bindAddress === '0.0.0.0' || o.bindAddress === '::')) {
        cmd.error("error: option '--direct-links on' needs --bind-address <this machine's address> (the address other Node peers dial; not a wildcard)", { exitCode: 2, code: 'ringmesh.usage' });
      }
      // An env var gives the list as one comma-separated string (commander does not split it).
      if (typeof o.iceServer === 'string') o.iceServer = (o.iceServer as string).split(',').filter(Boolean).reduce<string[]>((acc, u) => parseIceServer(u.trim(), acc), []);
      if (o.token === undefined && o.joinToken !== undefined) o.token = o.joinToken;
      process.exit(await runStart(o as StartOptions));
    });
}

/**
 * Pieces only, no ring stage: `--layers a:b`, or `--replica full` with neither --memory nor
 * --api-port (a seeding server that keeps every unit and serves pieces).
 */
const piecesOnly = (o: StartOptions): boolean => o.layers !== undefined || (o.replica === 'full' && o.memory === undefined && o.apiPort === undefined);

/** tokenizer.json of a local package, for the BOS/EOS text chat templates write; undefined otherwise. */
async function localTokenizerBytes(model: string, manifest: ModelManifest): Promise<Uint8Array | undefined> {
  if (manifest.tokenizer.kind !== 'hf-json') return undefined;
  return readFile(join(model, manifest.tokenizer.file)).then((b) => new Uint8Array(b), () => undefined); // not a directory: templates get empty BOS/EOS text
}

async function runStart(o: StartOptions): Promise<number> {
  const report = createStartReporter(process.stdout);
  let peer: { close(): Promise<void> } | null = null;
  let api: RunningApi | null = null;
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) {
      process.exit(130); // a second Ctrl-C: do not wait for the graceful path
    }
    stopping = true;
    report.event('stopping', { signal, openRequests: api?.openRequests ?? 0 });
    await api?.close(); // cancels open generations: their ring sessions end and free the stages' caches
    await peer?.close(); // leaves the room
    report.stop();
    process.exit(EXIT.ok);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  try {
    const device = piecesOnly(o) ? 'cpu' : await resolveStartDevice(o.device, report); // a device error is a flag error: before any network
    await probeSignaling(o.signal);
    if (piecesOnly(o)) {
      const legacy = await startLegacyPiecePeer(o, report);
      peer = legacy;
      if (o.apiPort !== undefined) {
        api = await serveApi(o, await legacy.localModel());
        report.event('api', { url: api.url });
      }
      await legacy.ready;
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
      ...(o.verifyRate === undefined ? {} : { verify: { rate: o.verifyRate } }),
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
    if (o.apiPort !== undefined) {
      if (node.tokenizer === null) throw new TokenizerUnavailableError(node.modelId);
      const tokenizerBytes = await localTokenizerBytes(o.model, node.manifest);
      api = await serveApi(o, {
        manifest: node.manifest,
        modelId: node.modelId,
        tokenizer: node.tokenizer,
        requester: node.requester,
        ...(tokenizerBytes === undefined ? {} : { tokenizerBytes }),
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
    const err = caught instanceof SignalingClosedError && caught.code === CLOSE_CODES.unauthorized ? new JoinRefusedError(o.signal, caught.reason ?? '', { cause: caught }) : caught;
    if (!(err instanceof RingmeshError)) throw err;
    process.stderr.write(`error: ${err.name}: ${err.message}\n`);
    await api?.close().catch(() => undefined);
    await peer?.close().catch(() => undefined); // best effort while exiting with the real error
    if (err instanceof ModelDoesNotFitError) return EXIT.insufficientMemory;
    if (err instanceof SignalingUnreachableError) return EXIT.signalingUnreachable;
    if (err instanceof DeviceUnavailableError) return EXIT.usage;
    return err instanceof JoinRefusedError ? EXIT.joinRefused : EXIT.error;
  }
}

/** The runtime has no tokenizer (neither package nor origin gave one): the API cannot encode prompts. */
export class TokenizerUnavailableError extends RingmeshError {
  constructor(readonly modelId: string) {
    super(`model ${modelId}: no tokenizer available (from the package, peers or origin), expected one to serve --api-port`);
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

/** `--verify-rate`: a probability. */
function parseVerifyRate(value: string): number {
  const r = Number(value);
  if (value.trim() === '' || !(r >= 0 && r <= 1)) throw new InvalidArgumentError(`--verify-rate must be a number in [0, 1], got ${value}`);
  return r;
}
