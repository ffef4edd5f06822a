/**
 * `ringmesh-signal`: runs the signaling server. Every flag has an environment fallback
 * (RINGMESH_<FLAG>, e.g. RINGMESH_PORT, RINGMESH_TOKEN_SECRET, RINGMESH_ALLOW_ORIGINS=a,b).
 * stdout carries the URLs (one line each); JSON logs go to stderr.
 * `--mint-token <room>` prints a join token signed with the token secret and exits.
 */
import { Command, InvalidArgumentError } from 'commander';
import { pino } from 'pino';
import { SignalingConfigError } from './errors.ts';
import { mintJoinToken } from './join-token.ts';
import type { MemberRole } from '../shared/signaling/protocol.ts';
import type { SignalingLimits } from './options.ts';
import { createRingPlanHook, REPLAN_REPORT_KINDS } from './plan-hook.ts';
import { createSignalingServer } from './server.ts';

const env = process.env;
/** Exit code of a bad flag or environment variable; runtime errors (a port in use) exit 1. */
const USAGE_EXIT_CODE = 2;
const int = (value: string): number => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
};
const envInt = (name: string): number | undefined => {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new SignalingConfigError(`${name}=${raw}: expected a non-negative integer`);
  return n;
};

const LIMIT_FLAGS: ReadonlyArray<[keyof SignalingLimits, string, string]> = [
  ['maxMessageBytes', '--max-message-bytes <n>', 'largest inbound frame, bytes'],
  ['messagesPerSecond', '--messages-per-second <n>', 'sustained frames per second per connection'],
  ['messageBurst', '--message-burst <n>', 'frames allowed in a burst'],
  ['maxPeersPerRoom', '--max-peers-per-room <n>', 'members per room'],
  ['maxRooms', '--max-rooms <n>', 'rooms per server'],
  ['maxConnections', '--max-connections <n>', 'open sockets per server'],
  ['maxStrikes', '--max-strikes <n>', 'invalid frames tolerated before closing'],
  ['maxConnectionsPerAddress', '--max-connections-per-address <n>', 'open sockets per client address (IPv6: per /64)'],
  ['maxRoomsPerAddress', '--max-rooms-per-address <n>', 'rooms the members from one client address may be in'],
  ['maxReportKinds', '--max-report-kinds <n>', 'distinct report kinds per member'],
  ['maxReportBytes', '--max-report-bytes <n>', 'largest report data as JSON, bytes'],
  ['maxManifestBytes', '--max-manifest-bytes <n>', 'largest manifest in a model report, bytes'],
  ['reportsPerSecond', '--reports-per-second <n>', 'sustained reports per second per member'],
  ['reportBurst', '--report-burst <n>', 'reports allowed in a burst'],
];
const placement = (value: string): 'latency' | 'memory' => {
  if (value === 'latency' || value === 'memory') return value;
  throw new InvalidArgumentError('expected latency or memory');
};
const role = (value: string): MemberRole => {
  if (value !== 'trusted' && value !== 'contributor') throw new InvalidArgumentError('expected trusted or contributor');
  return value;
};
const roomModel = (value: string, previous: Map<string, string> | undefined): Map<string, string> => {
  const m = /^([A-Za-z0-9._:-]{1,128})=([0-9a-f]{64})$/.exec(value);
  if (!m?.[1] || !m[2]) throw new InvalidArgumentError('expected <room>=<64-hex model id>');
  return new Map(previous).set(m[1], m[2]);
};
const envName = (key: string): string => `RINGMESH_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

async function main(): Promise<void> {
  const program = new Command('ringmesh-signal')
    .description('ringmesh signaling server: rooms, peer ids, SDP/ICE relay, plans; serves the web page at /')
    // Usage errors exit 2, as node-peer's do (README, exit codes); help and version exit 0.
    .exitOverride((err) => process.exit(err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0 ? 0 : USAGE_EXIT_CODE))
    .showHelpAfterError('(see ringmesh-signal --help)')
    .option('--host <host>', 'interface to listen on (RINGMESH_HOST)', env['RINGMESH_HOST'] ?? '127.0.0.1')
    .option('--port <port>', 'port, 0 = any free one (RINGMESH_PORT)', int, envInt('RINGMESH_PORT') ?? 8787)
    .option('--token-secret <secret>', 'require join tokens signed with this secret (RINGMESH_TOKEN_SECRET)', env['RINGMESH_TOKEN_SECRET'])
    .option(
      '--resume-secret <secret>',
      'sign resume tokens; keep it across restarts so peers keep their ids (RINGMESH_RESUME_SECRET)',
      env['RINGMESH_RESUME_SECRET'],
    )
    .option(
      '--allow-origin <origin...>',
      'browser origins allowed to connect (RINGMESH_ALLOW_ORIGINS, comma-separated)',
      env['RINGMESH_ALLOW_ORIGINS']?.split(',').filter(Boolean),
    )
    .option('--static-dir <dir>', 'folder served at / (RINGMESH_STATIC_DIR; default dist/web)', env['RINGMESH_STATIC_DIR'])
    .option('--heartbeat-interval-ms <n>', 'liveness sweep interval (RINGMESH_HEARTBEAT_INTERVAL_MS)', int, envInt('RINGMESH_HEARTBEAT_INTERVAL_MS'))
    .option(
      '--full-membership-limit <n>',
      'rooms up to this size get full member lists (RINGMESH_FULL_MEMBERSHIP_LIMIT)',
      int,
      envInt('RINGMESH_FULL_MEMBERSHIP_LIMIT'),
    )
    .option('--log-level <level>', 'pino level (RINGMESH_LOG_LEVEL)', env['RINGMESH_LOG_LEVEL'] ?? 'info')
    .option(
      '--max-memory-browser <bytes>',
      'memory claims of browser members are cut to this (RINGMESH_MAX_MEMORY_BROWSER; default 16 GiB)',
      int,
      envInt('RINGMESH_MAX_MEMORY_BROWSER'),
    )
    .option(
      '--max-memory-node <bytes>',
      'memory claims of Node members are cut to this (RINGMESH_MAX_MEMORY_NODE; default 1 TiB)',
      int,
      envInt('RINGMESH_MAX_MEMORY_NODE'),
    )
    .option(
      '--placement <how>',
      'latency (default): fastest rings first, spare capacity as replica rings; memory: one ring over every member with room (RINGMESH_PLACEMENT)',
      placement,
      env['RINGMESH_PLACEMENT'] ? placement(env['RINGMESH_PLACEMENT']) : 'latency',
    )
    .option(
      '--open-role <role>',
      'role of every member when no --token-secret is set: trusted or contributor (RINGMESH_OPEN_ROLE)',
      role,
      env['RINGMESH_OPEN_ROLE'] ? role(env['RINGMESH_OPEN_ROLE']) : undefined,
    )
    .option(
      '--trust-proxy',
      'client address = last X-Forwarded-For entry (only behind a reverse proxy that sets it; RINGMESH_TRUST_PROXY=1)',
      env['RINGMESH_TRUST_PROXY'] === '1',
    )
    .option('--room-model <room=modelId>', 'plan <room> for this model id (rooms named by a model id need none)', roomModel)
    .option('--mint-token <room>', 'print a join token for <room> ("*" = any) signed with --token-secret, then exit')
    .option('--token-ttl <seconds>', 'lifetime of a minted token', int, 3600)
    .option('--token-role <role>', 'role a minted token grants: trusted or contributor', role)
    .option('--token-mem <bytes>', 'memory cap a minted token carries, bytes', int);
  for (const [key, flag, help] of LIMIT_FLAGS) program.option(flag, `${help} (${envName(key)})`, int, envInt(envName(key)));
  program.parse();

  const opts = program.opts<Record<string, unknown>>();
  const str = (key: string): string | undefined => (typeof opts[key] === 'string' ? (opts[key] as string) : undefined);
  const num = (key: string): number | undefined => (typeof opts[key] === 'number' ? (opts[key] as number) : undefined);

  const mintFor = str('mintToken');
  if (mintFor !== undefined) {
    const secret = str('tokenSecret');
    if (!secret) throw new SignalingConfigError('--mint-token needs --token-secret (or RINGMESH_TOKEN_SECRET)');
    const tokenRole = str('tokenRole') as MemberRole | undefined;
    const tokenMem = num('tokenMem');
    console.log(
      mintJoinToken({
        secret,
        room: mintFor,
        ttlSeconds: num('tokenTtl') ?? 3600,
        ...(tokenRole ? { role: tokenRole } : {}),
        ...(tokenMem !== undefined ? { mem: tokenMem } : {}),
      }),
    );
    process.exit(0);
  }

  const limits: Partial<Record<keyof SignalingLimits, number>> = {};
  for (const [key] of LIMIT_FLAGS) {
    const value = num(key);
    if (value !== undefined) limits[key] = value;
  }
  const log = pino({ level: str('logLevel') ?? 'info', base: { service: 'ringmesh-signal' } }, pino.destination(2));
  const tokenSecret = str('tokenSecret');
  const resumeSecret = str('resumeSecret');
  const staticDir = str('staticDir');
  const heartbeatIntervalMs = num('heartbeatIntervalMs');
  const fullMembershipLimit = num('fullMembershipLimit');
  const allowOrigins = Array.isArray(opts['allowOrigin']) ? (opts['allowOrigin'] as string[]) : undefined;
  const roomModels = opts['roomModel'] instanceof Map ? (opts['roomModel'] as Map<string, string>) : undefined;
  const memoryCaps = {
    ...(num('maxMemoryBrowser') !== undefined ? { browser: num('maxMemoryBrowser') } : {}),
    ...(num('maxMemoryNode') !== undefined ? { node: num('maxMemoryNode') } : {}),
  };
  const openRole = str('openRole') as MemberRole | undefined;

  const server = await createSignalingServer({
    host: str('host') ?? '127.0.0.1',
    port: num('port') ?? 8787,
    log,
    limits,
    // Every room is a ring room: plan it from its members and its model's verified manifest.
    plan: createRingPlanHook({ log, placement: opts['placement'] === 'memory' ? 'memory' : 'latency', ...(roomModels ? { roomModels } : {}) }),
    replanOnReports: REPLAN_REPORT_KINDS,
    memoryCaps,
    trustProxy: opts['trustProxy'] === true,
    ...(roomModels ? { roomModels } : {}),
    ...(openRole ? { openRole } : {}),
    ...(tokenSecret ? { tokenSecret } : {}),
    ...(resumeSecret ? { resumeSecret } : {}),
    ...(staticDir ? { staticDir } : {}),
    ...(allowOrigins ? { allowOrigins } : {}),
    ...(heartbeatIntervalMs !== undefined ? { heartbeatIntervalMs } : {}),
    ...(fullMembershipLimit !== undefined ? { fullMembershipLimit } : {}),
  });
  console.log(`signaling ${server.url}`);
  console.log(`page ${server.httpUrl}`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

try {
  await main();
} catch (err) {
  // The CLI edge: a bad flag, variable or port is reported in one line with a non-zero exit.
  const config = err instanceof SignalingConfigError;
  console.error(`ringmesh-signal: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(config ? USAGE_EXIT_CODE : 1);
}
