// Runs the signaling server (`signaling/main.ts`) as its own process, on a chosen port so a test
// can kill it and start it again at the same URL.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { once } from 'node:events';

export interface SignalingProcess {
  readonly url: string;
  readonly httpUrl: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** SIGKILL (no graceful shutdown) and wait for exit. */
  kill(): Promise<void>;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (listen on 0, read it, close). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const address = srv.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  srv.close();
  await once(srv, 'close');
  return port;
}

export async function startSignalingProcess(opts: { port: number; resumeSecret?: string; staticDir?: string; timeoutMs?: number }): Promise<SignalingProcess> {
  const args = ['--import', 'tsx', 'signaling/main.ts', '--port', String(opts.port), '--log-level', 'warn'];
  if (opts.resumeSecret) args.push('--resume-secret', opts.resumeSecret);
  if (opts.staticDir) args.push('--static-dir', opts.staticDir);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = `ws://127.0.0.1:${opts.port}/signal`;
  const httpUrl = `http://127.0.0.1:${opts.port}/`;
  await waitHealthy(httpUrl, child, opts.timeoutMs ?? 30_000);
  const exited = once(child, 'exit');
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return { url, httpUrl, port: opts.port, child, kill: () => end('SIGKILL'), stop: () => end('SIGTERM') };
}

async function waitHealthy(httpUrl: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`signaling process exited with ${child.exitCode} before it was healthy`);
    try {
      const res = await fetch(`${httpUrl}healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet: poll again (bounded by the deadline)
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`signaling process not healthy after ${timeoutMs} ms`);
}
