// A network namespace held open by one child process (`unshare -n`), for tests that need peers on
// separate networks. The holder reads its stdin until EOF, so it exits when this process does,
// even on a crash: the namespace (and every veth end moved into it) goes with it. Commands run
// inside it through `nsenter --net=/proc/<holder pid>/ns/net`; no name is registered anywhere.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { createInterface } from 'node:readline';

/** Runs `cmd` here (no namespace change) and returns its stdout; throws with its stderr on failure. */
export function sh(cmd: string, args: readonly string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
}

/** This process's namespace has no interface but `lo` (scripts/test.sh runs the suite in one). */
export function loopbackOnly(): boolean {
  return Object.keys(networkInterfaces()).every((name) => name === 'lo');
}

export class NetNamespace {
  private constructor(private readonly holder: ChildProcess) {}

  /** Starts the holder and resolves once it is inside its new namespace. */
  static async create(): Promise<NetNamespace> {
    // `echo` runs after unshare, so the line proves /proc/<pid>/ns/net is the new namespace.
    const holder = spawn('unshare', ['-n', 'sh', '-c', 'ip link set lo up && echo ready && exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const ready = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 10_000);
      createInterface({ input: holder.stdout! }).once('line', (line) => {
        clearTimeout(timer);
        resolve(line === 'ready');
      });
      holder.once('exit', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    const ns = new NetNamespace(holder);
    if (!ready) {
      ns.close();
      throw new Error('could not create a network namespace (unshare -n): the test needs CAP_SYS_ADMIN and CAP_NET_ADMIN');
    }
    return ns;
  }

  get pid(): number {
    return this.holder.pid!;
  }

  /** `nsenter` arguments that run a command in this namespace: `[...enter, cmd, ...args]`. */
  get enter(): string[] {
    return ['nsenter', `--net=/proc/${this.pid}/ns/net`];
  }

  /** Runs `cmd` inside the namespace and returns its stdout. */
  exec(cmd: string, args: readonly string[]): string {
    const [nsenter, ...flags] = this.enter;
    return sh(nsenter!, [...flags, cmd, ...args]);
  }

  /** Ends the holder (by its pid); the namespace goes once nothing else runs in it. */
  close(): void {
    if (this.holder.exitCode === null && this.holder.signalCode === null) this.holder.kill('SIGKILL');
  }
}
