// `npm start`'s script (scripts/start.ts: signaling server + a Node peer seeding the demo model)
// on free ports with its own state dir, for tests that drive the real page or the API against it.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from './signaling-process.ts';

const ROOT = join(import.meta.dirname, '../..');

export interface NpmStartStack {
  /** The URL the script prints for the page. */
  readonly pageUrl: string;
  /** The OpenAI-compatible API's base URL it prints (…/v1). */
  readonly apiUrl: string;
  /** Its recent output, for failure messages. */
  output(): string;
  /** Ctrl-C to the whole process group, as a terminal would; SIGKILL to what is left after 15 s. */
  stop(): Promise<void>;
}

export interface NpmStackOptions {
  /**
   * The script's flags. Default `--model random`: the page tests measure tens of MB of layers
   * (storage quota, eviction), which the built-in 300 KB model does not have.
   */
  readonly args?: readonly string[];
  /** Run it as the README says (`npm start`, through npm and tsx) instead of `node --import tsx`. */
  readonly viaNpm?: boolean;
}

export async function startNpmStack(stateDir: string, opts: NpmStackOptions = {}): Promise<NpmStartStack> {
  const [port, apiPort] = await Promise.all([freePort(), freePort()]);
  const args = opts.args ?? ['--model', 'random'];
  const [cmd, argv] =
    opts.viaNpm === true
      ? ['npm', ['start', ...(args.length > 0 ? ['--', ...args] : [])]]
      : [process.execPath, ['--import', 'tsx', 'scripts/start.ts', ...args]];
  const child: ChildProcess = spawn(cmd, argv, {
    cwd: ROOT,
    env: { ...process.env, RINGMESH_PORT: String(port), RINGMESH_API_PORT: String(apiPort), RINGMESH_STATE_DIR: stateDir },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: stop() signals all of it
  });
  let out = '';
  /** Whether any process of the group is still there (npm may exit before the script it ran). */
  const groupAlive = (pid: number): boolean => {
    try {
      process.kill(-pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const stop = async (): Promise<void> => {
    const pid = child.pid;
    if (pid === undefined || !groupAlive(pid)) return;
    process.kill(-pid, 'SIGINT');
    for (let waited = 0; waited < 15_000 && groupAlive(pid); waited += 100) await new Promise((r) => setTimeout(r, 100));
    if (groupAlive(pid)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone between the check and the kill
      }
    }
  };
  let pageUrl = '';
  const apiUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start printed no URL in 170 s:\n${out}`)), 170_000);
    const onLine = (line: string): void => {
      out = (out + line + '\n').slice(-20_000);
      const page = /\[ringmesh\] open (http:\/\/\S+)/.exec(line);
      if (page) pageUrl = page[1]!;
      // Printed right after the page's URL.
      const api = /\[ringmesh\] OpenAI-compatible API: (http:\/\/\S+\/v1)/.exec(line);
      if (api && pageUrl !== '') {
        clearTimeout(timer);
        resolve(api[1]!);
      }
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited (${code}):\n${out}`));
    });
  }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  return { pageUrl, apiUrl, output: () => out, stop };
}
