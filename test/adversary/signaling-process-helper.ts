// The signaling server as its own process for the adversary tests (so its memory is measured apart
// from the attackers'), and raw `ws` clients that can come from any loopback address.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

export interface ServerProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Resident memory of the server process now, bytes. */
  rss(): number;
  /** True while the process has not exited. */
  alive(): boolean;
  stop(): Promise<void>;
}

export async function startServerProcess(args: readonly string[] = []): Promise<ServerProcess> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'ringmesh-signal.js'), '--port', '0', '--log-level', 'warn', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('signaling process did not print its URL in 30 s')), 30_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += String(d);
      const m = /^signaling (\S+)$/m.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`signaling process exited ${code}`)));
  });
  return {
    url,
    child,
    rss: () => {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      return Number(m?.[1] ?? Number.NaN) * 1024;
    },
    alive: () => child.exitCode === null && child.signalCode === null,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
