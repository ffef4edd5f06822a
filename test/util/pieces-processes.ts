// Node peer processes for the swarm tests and bench: `node-peer start …` children whose JSON
// progress lines are parsed, waited on and killed (by their own pid) as the tests need.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface PeerEvent {
  readonly event: string;
  readonly [k: string]: unknown;
}

export interface PeerProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly events: PeerEvent[];
  /** Resolves with the first event matching, rejects if the process exits first or after `timeoutMs`. */
  waitFor(pred: (e: PeerEvent) => boolean, timeoutMs?: number): Promise<PeerEvent>;
  readonly exited: Promise<number | null>;
  stderr(): string;
  kill(signal?: NodeJS.Signals): void;
}

const BIN = join(import.meta.dirname, '../../bin/node-peer.js');

/**
 * `node-peer start --bind-address 127.0.0.1 …args`, or `script` (a .ts file run with tsx) instead;
 * `asReadme`: no --bind-address, exactly the flags given (the README's commands); `wrap`: a command
 * that runs it (e.g. `nsenter --net=…`, into another network namespace), which must exec it.
 */
export function startPeerProcess(
  name: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; script?: string; asReadme?: boolean; wrap?: readonly string[] } = {},
): PeerProcess {
  const cmd = opts.script ? ['--import', 'tsx', opts.script] : [BIN, 'start'];
  const [exe, ...argv] = [...(opts.wrap ?? []), process.execPath, ...cmd, ...(opts.asReadme === true ? [] : ['--bind-address', '127.0.0.1']), ...args];
  const child = spawn(exe!, argv, {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: PeerEvent[] = [];
  const waiters = new Set<{ pred: (e: PeerEvent) => boolean; resolve: (e: PeerEvent) => void }>();
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-20_000);
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let e: PeerEvent;
    try {
      e = JSON.parse(line) as PeerEvent;
    } catch {
      return; // not a JSON event line (a warning from a dependency)
    }
    events.push(e);
    for (const w of [...waiters])
      if (w.pred(e)) {
        waiters.delete(w);
        w.resolve(e);
      }
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    name,
    child,
    events,
    exited,
    stderr: () => err,
    kill: (signal = 'SIGTERM') => void (child.exitCode === null && child.signalCode === null && child.kill(signal)),
    waitFor(pred, timeoutMs = 120_000) {
      const found = events.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve: (e: PeerEvent) => (clearTimeout(t), resolve(e)) };
        const t = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`${name}: no matching event within ${timeoutMs} ms; last events ${JSON.stringify(events.slice(-3))}; stderr ${err.slice(-2000)}`));
        }, timeoutMs);
        waiters.add(w);
        void exited.then((code) => {
          if (!waiters.has(w)) return;
          waiters.delete(w);
          clearTimeout(t);
          reject(new Error(`${name} exited (${code}) before the event; stderr ${err.slice(-2000)}`));
        });
      });
    },
  };
}
