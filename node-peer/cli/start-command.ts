import { homedir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseByteSize, parseIceServer, parsePort, parseLinkMtu, parseOnOff, parseSeconds, parseSignalUrl, parseThreads } from './option-parsers.ts';
import { parseApiKey, parseCorsOrigins, parseDevice, parseKvDtype, parseMaxBody, parseMaxConcurrent, parsePublicHosts } from './option-parsers.ts';
import { DEFAULT_MAX_BODY_BYTES } from '../api/api-server.ts';
import { DEFAULT_MAX_CONCURRENT } from '../api/generation-slots.ts';
import { isLoopbackHost } from '../api/host-policy.ts';
import { DEFAULT_FIRST_TOKEN_MS, DEFAULT_NEXT_TOKEN_MS } from '../../shared/ring/requester-state.ts';
import { parseLogFormat } from './pretty-event.ts';
import type { StartOptions } from './start-options.ts';
import { runStart } from './start-run.ts';

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
    .description(
      "join a ringmesh swarm: serve a share of the model's layers in the ring, swap weight pieces with peers, and optionally serve an OpenAI-compatible API",
    )
    .addOption(
      new Option('--signal <url>', 'signaling server WebSocket URL, ws(s)://host:port/signal')
        .env(env('SIGNAL'))
        .argParser(parseSignalUrl)
        .makeOptionMandatory(),
    )
    .addOption(
      new Option(
        '--model <dir|url|id>',
        'model package: a local directory (this peer seeds it), an http(s) base URL, or a model id (64 hex digits; pieces come from peers or --origin)',
      )
        .env(env('MODEL'))
        .makeOptionMandatory(),
    )
    .addOption(
      new Option(
        '--memory <size>',
        'memory this peer offers for weights + KV cache, e.g. 8GiB, 512MiB; 0 = seed pieces and make requests only (default: half the free memory)',
      )
        .env(env('MEMORY'))
        .argParser(parseByteSize),
    )
    .addOption(
      new Option('--api-port <port>', 'serve the OpenAI-compatible HTTP API on this port (0 = any free port); no API without it')
        .env(env('API_PORT'))
        .argParser(parsePort),
    )
    .addOption(new Option('--api-host <host>', 'interface the API listens on; anything but loopback needs --api-key').env(env('API_HOST')).default('127.0.0.1'))
    .addOption(
      new Option('--api-key <key>', 'require "Authorization: Bearer <key>" on every API request (required with a non-loopback --api-host)')
        .env(env('API_KEY'))
        .argParser(parseApiKey),
    )
    .addOption(
      new Option('--api-max-body <size>', 'largest API request body; larger ones get 413')
        .env(env('API_MAX_BODY'))
        .argParser(parseMaxBody)
        .default(DEFAULT_MAX_BODY_BYTES, '4MiB'),
    )
    .addOption(
      new Option('--api-max-concurrent <n>', 'generations the API runs at once; more get 429 with Retry-After')
        .env(env('API_MAX_CONCURRENT'))
        .argParser(parseMaxConcurrent)
        .default(DEFAULT_MAX_CONCURRENT),
    )
    .addOption(
      new Option(
        '--cors-origin <origin>',
        'web origin (scheme://host[:port]) allowed to call the API from a browser (repeatable or comma-separated); none by default: requests with another Origin get 403',
      )
        .env(env('CORS_ORIGIN'))
        .argParser(parseCorsOrigins),
    )
    .addOption(
      new Option(
        '--api-public-host <name>',
        'a host name clients reach the API by, beyond its bind address and loopback (repeatable or comma-separated); other Host headers get 421',
      )
        .env(env('API_PUBLIC_HOST'))
        .argParser(parsePublicHosts),
    )
    .addOption(new Option('--cache-dir <dir>', 'piece cache directory').env(env('CACHE_DIR')).default(defaultCacheDir()))
    .addOption(new Option('--token <token>', 'join token, when the signaling server requires one (ringmesh-signal --mint-token)').env(env('TOKEN')))
    .addOption(new Option('--join-token <token>').hideHelp())
    .addOption(
      new Option(
        '--ice-server <url>',
        'STUN/TURN server: stun:host:port or turn:user:password@host:port (repeatable; comma-separated in the env var); none by default',
      )
        .env(env('ICE_SERVERS'))
        .argParser(parseIceServer),
    )
    .addOption(new Option('--origin <url|dir>', 'where pieces no peer has come from (http(s) base URL or directory)').env(env('ORIGIN')))
    .addOption(new Option('--origin-token <token>', 'bearer token for the origin').env(env('ORIGIN_TOKEN')))
    .addOption(
      new Option(
        '--replica <mode>',
        '"full": fetch and keep every unit, not only this peer\'s layers (without --memory and --api-port: a pure seeder, no ring stage)',
      )
        .env(env('REPLICA'))
        .argParser(parseReplica),
    )
    .addOption(new Option('--threads <n>', "intra-op threads of this peer's stage").env(env('THREADS')).argParser(parseThreads))
    .addOption(
      new Option(
        '--device <device>',
        "where this peer's stage runs: auto (CUDA, else WebGPU, else CPU; logs what it picked and why), cpu, cuda or webgpu (an explicit GPU device that is not available exits with code 2)",
      )
        .env(env('DEVICE'))
        .argParser(parseDevice)
        .default('auto'),
    )
    .addOption(
      new Option(
        '--kv-dtype <dtype>',
        "element type of this peer's KV cache: fp32, or fp16 (half the KV memory: about twice the sessions' tokens in the same --memory, logits within ~0.2% of fp32; docs/engines.md)",
      )
        .env(env('KV_DTYPE'))
        .argParser(parseKvDtype)
        .default('fp32'),
    )
    .addOption(
      new Option(
        '--verify-rate <r>',
        'trusted peers: share of requests whose contributor stages are re-run and checked once they are established (new contributors: every request), 0–1; 0 = off (default 0.05, docs/ring.md "Verified compute")',
      )
        .env(env('VERIFY_RATE'))
        .argParser(parseVerifyRate),
    )
    .addOption(
      new Option('--fit-timeout <seconds>', "how long to wait for enough peers when the room's memory is short of the model, before exiting with code 3")
        .env(env('FIT_TIMEOUT'))
        .argParser(parseSeconds)
        .default(60),
    )
    .addOption(
      new Option(
        '--first-token-timeout <seconds>',
        'a request whose first token has not come this long after it was made ends with an error (API: 504 ring_timeout; 503 no_ring while no ring is ready)',
      )
        .env(env('FIRST_TOKEN_TIMEOUT'))
        .argParser(parsePositiveSeconds)
        .default(DEFAULT_FIRST_TOKEN_MS / 1000),
    )
    .addOption(
      new Option(
        '--token-timeout <seconds>',
        'a request whose next token has not come this long after the one before ends with an error (API: 504 ring_timeout, an error event when streaming)',
      )
        .env(env('TOKEN_TIMEOUT'))
        .argParser(parsePositiveSeconds)
        .default(DEFAULT_NEXT_TOKEN_MS / 1000),
    )
    .addOption(
      new Option(
        '--bind-address <ip>',
        'local address for WebRTC (default: 127.0.0.1 when loopback is the only interface with an address, else none: every interface is offered)',
      ).env(env('BIND_ADDRESS')),
    )
    .addOption(
      new Option(
        '--link-mtu <bytes>',
        'MTU of WebRTC links to other Node peers, 1200–4096 (default: 4096 with a loopback --bind-address, else 1200; raise it on a LAN that carries IP fragments)',
      )
        .env(env('LINK_MTU'))
        .argParser(parseLinkMtu),
    )
    .addOption(
      new Option(
        '--direct-links <on|off>',
        'direct TCP links to other Node peers instead of WebRTC: much less CPU per byte, but not encrypted (default: on with a loopback --bind-address; turn it on only on a trusted network)',
      )
        .env(env('DIRECT_LINKS'))
        .argParser(parseOnOff),
    )
    .addOption(
      new Option(
        '--log-format <format>',
        'console output: pretty (human lines, a download bar on a terminal), json (one JSON object per line) or auto (pretty on a terminal, else json)',
      )
        .env(env('LOG_FORMAT'))
        .argParser(parseLogFormat)
        .default('auto'),
    )
    .addOption(new Option('--layers <a:b>', 'pieces only: fetch the units of layers [a, b) and take no part in the ring').argParser(parseLayers))
    .addHelpText(
      'after',
      `
Every option can also come from the environment variable named after it (RINGMESH_SIGNAL, RINGMESH_MEMORY, …).

Examples:
  node-peer start --signal ws://127.0.0.1:8787/signal --model ./models/demo --memory 2GiB --api-port 8080
  RINGMESH_SIGNAL=wss://ring.example.org/signal RINGMESH_TOKEN=… node-peer start --model <model id> --memory 8GiB

Output (--log-format): on a terminal a download bar and one human line per event, otherwise one JSON
line per event (joined, plan, progress, ready, ring-ready, api, device, …). Exit codes: 0 stopped by
SIGINT/SIGTERM, 1 runtime error (e.g. the --api-port is in use), 2 bad flag (an unknown flag, a --model
directory without a package, an unavailable --device), 3 insufficient memory (the model does not fit
the room), 4 signaling server unreachable, 5 join refused (the server wants a valid --token).`,
    )
    .action(async (o: StartOptions & { joinToken?: string; iceServer?: string[] | string }, cmd: Command) => {
      // A direct link's answer names this peer's address: a wildcard or none names nothing to dial.
      // An API beyond this machine without a key would serve (and spend the ring on) anyone who finds it.
      if (o.apiPort !== undefined && !isLoopbackHost(o.apiHost) && o.apiKey === undefined) {
        cmd.error(
          `error: option '--api-host ${o.apiHost}' is not loopback: it needs --api-key <key> (or RINGMESH_API_KEY), which every request must then send as "Authorization: Bearer <key>"`,
          { exitCode: 2, code: 'ringmesh.usage' },
        );
      }
      if (o.directLinks === true && (o.bindAddress === undefined || o.bindAddress === '0.0.0.0' || o.bindAddress === '::')) {
        cmd.error("error: option '--direct-links on' needs --bind-address <this machine's address> (the address other Node peers dial; not a wildcard)", {
          exitCode: 2,
          code: 'ringmesh.usage',
        });
      }
      // An env var gives the list as one comma-separated string (commander does not split it).
      if (typeof o.iceServer === 'string')
        o.iceServer = (o.iceServer as string)
          .split(',')
          .filter(Boolean)
          .reduce<string[]>((acc, u) => parseIceServer(u.trim(), acc), []);
      if (o.token === undefined && o.joinToken !== undefined) o.token = o.joinToken;
      process.exit(await runStart(o as StartOptions));
    });
}

/** `--verify-rate`: a probability. */
function parseVerifyRate(value: string): number {
  const r = Number(value);
  if (value.trim() === '' || !(r >= 0 && r <= 1)) throw new InvalidArgumentError(`--verify-rate must be a number in [0, 1], got ${value}`);
  return r;
}

/** `--first-token-timeout`, `--token-timeout`: seconds > 0 (a deadline of 0 would end every request). */
function parsePositiveSeconds(value: string): number {
  const n = parseSeconds(value);
  if (n <= 0) throw new InvalidArgumentError(`"${value}" is not a timeout: expected seconds > 0`);
  return n;
}
