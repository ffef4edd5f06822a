// Spawns a test peer process that speaks JSON lines (commands on stdin, events on stdout), and
// lets a test wait for its events with a deadline.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export type PeerEvent = Record<string, unknown> & { event: string };

export class PeerProcess {
  readonly events: PeerEvent[] = [];
  private readonly listeners = new Set<() => void>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let ev: PeerEvent;
      try {
        ev = JSON.parse(line) as PeerEvent;
      } catch {
        ev = { event: 'log', line };
      }
      this.events.push(ev);
      for (const l of [...this.listeners]) l();
    });
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /** `node --import tsx <script> ...args` with stdout piped for events. */
  static start(name: string, script: string, args: string[], env: NodeJS.ProcessEnv = {}): PeerProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, ...env },
    });
    return new PeerProcess(name, child);
  }

  command(cmd: Record<string, unknown>): void {
    this.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
  }

  /** Index of the next event, for `waitFor(…, from)`. */
  mark(): number {
    return this.events.length;
  }

  /**
   * Resolves with the first event from index `from` on (already seen or future) matching `match`;
   * rejects on timeout, on an `error` event, or when the process exits.
   */
  waitFor(match: (e: PeerEvent) => boolean, timeoutMs = 30_000, what = 'event', from = 0): Promise<PeerEvent> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const hit = this.events.slice(from).find(match);
        if (hit) {
          done();
          resolve(hit);
          return true;
        }
        const err = this.events.find((e) => e.event === 'error');
        if (err) {
          done();
          reject(new Error(`${this.name}: ${JSON.stringify(err)} while waiting for ${what}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: no ${what} within ${timeoutMs} ms; saw ${JSON.stringify(this.events.slice(-8))}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(listener);
      };
      const listener = (): void => void check();
      if (check()) return;
      this.listeners.add(listener);
      void this.exited.then(() => {
        if (this.listeners.has(listener)) {
          done();
          reject(new Error(`${this.name} exited while waiting for ${what}`));
        }
      });
    });
  }

  /** SIGKILL if still running (cleanup after a failed test). */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}
