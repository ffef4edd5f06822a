// A real TURN server for tests: coturn's `turnserver` (Debian package coturn; scripts/test.sh
// installs it), UDP only, long-term credentials, no TLS, no admin CLI, its state in a temp
// directory. Ready once it answers a STUN Binding request; stopped by its pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TurnServerOptions {
  readonly ip: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly realm: string;
  /** Where its user database and pid file go. */
  readonly dir: string;
  /** Relay ports it allocates from (inclusive). */
  readonly minPort?: number;
  readonly maxPort?: number;
}

export interface TurnServer {
  readonly child: ChildProcess;
  /** `turn:host:port` (credentials apart). */
  readonly url: string;
  /** The recent lines of its log (for a failing test's message). */
  log(): string;
  stop(): Promise<void>;
}

export async function startTurnServer(o: TurnServerOptions): Promise<TurnServer> {
  const args = [
    '-n',
    '--listening-ip',
    o.ip,
    '--relay-ip',
    o.ip,
    '--listening-port',
    String(o.port),
    '--min-port',
    String(o.minPort ?? 49_160),
    '--max-port',
    String(o.maxPort ?? 49_260),
    '--lt-cred-mech',
    '--user',
    `${o.user}:${o.password}`,
    '--realm',
    o.realm,
    '--no-tls',
    '--no-dtls',
    '--no-cli',
    '--no-tcp-relay',
    '--userdb',
    join(o.dir, 'turndb'),
    '--pidfile',
    join(o.dir, 'turnserver.pid'),
    // A file, not stdout: coturn's stdout to a pipe is block-buffered, so its tail would lag.
    '--log-file',
    join(o.dir, 'turnserver.log'),
    '--simple-log',
  ];
  const child = spawn('turnserver', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (d: Buffer): void => {
    log = (log + d.toString()).slice(-8_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  const deadline = Date.now() + 20_000;
  while (!(await answersStun(o.ip, o.port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`turnserver did not answer on ${o.ip}:${o.port}; its log:\n${log}`);
    }
  }
  const logFile = join(o.dir, 'turnserver.log');
  const fileLog = (): string => {
    try {
      return readFileSync(logFile, 'utf8').slice(-8_000);
    } catch {
      return log;
    }
  };
  return { child, url: `turn:${o.ip}:${o.port}`, log: fileLog, stop };
}

/** One STUN Binding request (RFC 5389); resolves whether a response came within 500 ms. */
function answersStun(ip: string, port: number): Promise<boolean> {
  const socket = createSocket('udp4');
  const req = Buffer.alloc(20);
  req.writeUInt16BE(0x0001, 0);
  req.writeUInt32BE(0x2112a442, 4);
  randomBytes(12).copy(req, 8);
  return new Promise((resolve) => {
    let settled = false;
    const done = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 500);
    socket.on('message', (msg) => {
      if (msg.length >= 20 && msg.subarray(8, 20).equals(req.subarray(8, 20))) done(true);
    });
    socket.on('error', () => done(false));
    socket.send(req, port, ip);
  });
}
