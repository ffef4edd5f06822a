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
import type { SignalingLimits } from './options.ts';
import { createRingPlanHook, REPLAN_REPORT_KINDS } from './plan-hook.ts';
import { createSignalingServer } from './server.ts';

const env = process.env;
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
];
const envName = (key: string): string => `RINGMESH_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

async function main(): Promise<void> {
  const program = new Command('ringmesh-signal')
    .description('ringmesh signaling server: rooms, peer ids, SDP/ICE relay, plans; serves the web page at /')
    .option('--host <host>', 'interface to listen on (RINGMESH_HOST)', env['RINGMESH_HOST'] ?? '127.0.0.1')
    .option('--port <port>', 'port, 0 = any free one (RINGMESH_PORT)', int, envInt('RINGMESH_PORT') ?? 8787)
    .option('--token-secret <secret>', 'require join tokens signed with this secret (RINGMESH_TOKEN_SECRET)', env['RINGMESH_TOKEN_SECRET'])
    .option('--resume-secret <secret>', 'sign resume tokens; keep it across restarts so peers keep their ids (RINGMESH_RESUME_SECRET)', env['RINGMESH_RESUME_SECRET'])
    .option('--allow-origin <origin...>', 'browser origins allowed to connect (RINGMESH_ALLOW_ORIGINS, comma-separated)', env['RINGMESH_ALLOW_ORIGINS']?.split(',').filter(Boolean))
    .option('--static-dir <dir>', 'folder served at / (RINGMESH_STATIC_DIR; default dist/web)', env['RINGMESH_STATIC_DIR'])
    .option('--heartbeat-interval-ms <n>', 'liveness sweep interval (RINGMESH_HEARTBEAT_INTERVAL_MS)', int, envInt('RINGMESH_HEARTBEAT_INTERVAL_MS'))
    .option('--full-membership-limit <n>', 'rooms up to this size get full member lists (RINGMESH_FULL_MEMBERSHIP_LIMIT)', int, envInt('RINGMESH_FULL_MEMBERSHIP_LIMIT'))
    .option('--log-level <level>', 'pino level (RINGMESH_LOG_LEVEL)', env['RINGMESH_LOG_LEVEL'] ?? 'info')
    .option('--mint-token <room>', 'print a join token for <room> ("*" = any) signed with --token-secret, then exit')
    .option('--token-ttl <seconds>', 'lifetime of a minted token', int, 3600);
  for (const [key, flag, help] of LIMIT_FLAGS) program.option(flag, `${help} (${envName(key)})`, int, envInt(envName(key)));
  program.parse();

  const opts = program.opts<Record<string, unknown>>();
  const str = (key: string): string | undefined => (typeof opts[key] === 'string' ? (opts[key] as string) : undefined);
  const num = (key: string): number | undefined => (typeof opts[key] === 'number' ? (opts[key] as number) : undefined);

  const mintFor = str('mintToken');
  if (mintFor !== undefined) {
    const secret = str('tokenSecret');
    if (!secret) throw new SignalingConfigError('--mint-token needs --token-secret (or RINGMESH_TOKEN_SECRET)');
    console.log(mintJoinToken({ secret, room: mintFor, ttlSeconds: num('tokenTtl') ?? 3600 }));
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

  const server = await createSignalingServer({
    host: str('host') ?? '127.0.0.1',
    port: num('port') ?? 8787,
    log,
    limits,
    // Every room is a ring room: plan it from its members and the model shape they report.
    plan: createRingPlanHook({ log }),
    replanOnReports: REPLAN_REPORT_KINDS,
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
  process.exit(config ? 2 : 1);
}
