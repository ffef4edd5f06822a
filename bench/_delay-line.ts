// The WAN bench's delay on loopback (docs/ring.md, "WAN bench"): bench/delay-line/delay-line.c,
// compiled here into a temp dir, holds every packet an iptables NFQUEUE rule on `lo` hands it for
// the set one-way delay (± jitter, with loss). `tc netem` would do this, but not every kernel has
// it. Nothing is installed: `missingPrerequisites` names the Debian packages that are lacking.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { median } from './_report.ts';

const SOURCE = join(import.meta.dirname, 'delay-line', 'delay-line.c');
const HEADER = '/usr/include/libnetfilter_queue/libnetfilter_queue.h';
const QUEUE = '0';
const REPLY_MS = 10_000;

const onPath = (cmd: string): boolean => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/** What this host lacks to run the delay line, as Debian packages (empty: nothing). */
export function missingPrerequisites(): string[] {
  const missing: string[] = [];
  if (!onPath('gcc')) missing.push('gcc');
  if (!existsSync(HEADER)) missing.push('libnetfilter-queue-dev');
  if (!onPath('iptables-legacy')) missing.push('iptables');
  if (!onPath('unshare') || !onPath('ip')) missing.push('util-linux iproute2');
  return missing;
}

export interface DelaySetting {
  /** One way, per packet, ms. */
  readonly delayMs: number;
  /** Each packet's delay is uniform in delayMs ± jitterMs. */
  readonly jitterMs: number;
  /** Fraction of packets dropped, 0..1. */
  readonly loss: number;
}

export class DelayLineError extends Error {
  override readonly name = 'DelayLineError';
}

/**
 * A running delay line inside this process's network namespace (it must be one of its own: the
 * rule delays every loopback packet). Create it before any traffic that should be delayed; the
 * rule is added once the program listens, so no packet waits on a queue nobody reads.
 */
export class DelayLine {
  private readonly replies: string[] = [];
  private wake: (() => void) | null = null;

  private constructor(private readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.replies.push(line);
      this.wake?.();
    });
    child.once('exit', () => this.wake?.());
  }

  /** Compiles the program into `dir`, starts it and adds the NFQUEUE rules for `lo`. */
  static async start(dir: string): Promise<DelayLine> {
    const bin = join(dir, 'delay-line');
    execFileSync('gcc', ['-O2', '-o', bin, SOURCE, '-lnetfilter_queue', '-lnfnetlink'], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 60_000 });
    const line = new DelayLine(spawn(bin, [QUEUE], { stdio: ['pipe', 'pipe', 'inherit'] }));
    const first = await line.reply();
    if (first !== 'ready') throw new DelayLineError(`delay line did not start (${first})`);
    const rule = ['-A', 'OUTPUT', '-o', 'lo', '-j', 'NFQUEUE', '--queue-num', QUEUE];
    execFileSync('iptables-legacy', rule, { stdio: ['ignore', 'ignore', 'inherit'], timeout: 10_000 });
    if (onPath('ip6tables-legacy')) execFileSync('ip6tables-legacy', rule, { stdio: ['ignore', 'ignore', 'inherit'], timeout: 10_000 });
    return line;
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** Applies `s` to every packet from now on. */
  async set(s: DelaySetting): Promise<void> {
    this.child.stdin!.write(`${s.delayMs} ${s.jitterMs} ${s.loss}\n`);
    const r = await this.reply();
    if (!r.startsWith('ok ')) throw new DelayLineError(`delay line refused ${JSON.stringify(s)}: ${r}`);
  }

  /** Ends the program (by its pid): it lets every held packet go first. The rules go with the namespace. */
  stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    return exited.finally(() => clearTimeout(timer));
  }

  private async reply(): Promise<string> {
    const deadline = Date.now() + REPLY_MS;
    while (this.replies.length === 0) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new DelayLineError('delay line exited');
      if (Date.now() >= deadline) throw new DelayLineError(`no reply from the delay line within ${REPLY_MS} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
    return this.replies.shift() as string;
  }
}

/** Median round trip (ms) of `n` one-byte TCP echoes over 127.0.0.1: what the delay line adds, seen by a socket. */
export async function echoRttMs(n = 15): Promise<number> {
  const server = createServer((s) => {
    s.setNoDelay(true);
    s.on('data', (d) => s.write(d));
    s.on('error', () => s.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const sock: Socket = connect(port, '127.0.0.1');
  sock.setNoDelay(true);
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    const rtts: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      const echoed = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new DelayLineError('a TCP echo took over 30 s')), 30_000);
        sock.once('data', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      sock.write('x');
      await echoed;
      rtts.push(performance.now() - t);
    }
    return median(rtts);
  } finally {
    sock.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
