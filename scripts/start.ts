/**
 * `npm start`: the whole demo on this machine — builds the web page when its sources changed,
 * prepares the model (by default the small trained aidreams260K model, converted to q8 once into
 * the state dir; `--model random` for a seeded random model of any size, `--model <dir>` for a
 * package), starts the signaling server (serving the page) and a Node peer that seeds the model,
 * takes a share of its layers and serves the OpenAI-compatible API, then prints the URL to open.
 * Ctrl-C stops everything cleanly. `npm start -- --help` lists the flags (scripts/start-options.ts).
 *
 * Environment: RINGMESH_STATE_DIR (converted models + piece cache, default .ringmesh/), RINGMESH_PORT (page + signaling, default 8787), RINGMESH_API_PORT (default 8080),
 * RINGMESH_HOST (default 127.0.0.1), RINGMESH_DEMO_MEMORY (the Node peer's --memory, default
 * 64MiB: the whole demo model fits, so the API answers alone; a browser that contributes more
 * memory takes a proportional share of the layers). RINGMESH_BIND_ADDRESS (the Node peer's WebRTC
 * address; on a host whose only interface is loopback it defaults to 127.0.0.1, since WebRTC
 * skips loopback otherwise).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { copyFile, link, mkdir, readdir, writeFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { bundleIsFresh } from '../bin/node-peer-bundle.js';
import { newestMtime } from './newest-mtime.ts';
import { prepareStartModel } from './start-model.ts';
import { parseStartOptions, START_USAGE, StartOptionError } from './start-options.ts';

const ROOT = join(import.meta.dirname, '..');
const STATE = process.env['RINGMESH_STATE_DIR'] ?? join(ROOT, '.ringmesh');
const WEB_OUT = join(ROOT, 'dist', 'web');
const host = process.env['RINGMESH_HOST'] ?? '127.0.0.1';
const port = Number(process.env['RINGMESH_PORT'] ?? 8787);
const apiPort = Number(process.env['RINGMESH_API_PORT'] ?? 8080);
const memory = process.env['RINGMESH_DEMO_MEMORY'] ?? '64MiB';
/** libjuice gathers no loopback candidates unless bound there: needed when loopback is all there is. */
const onlyLoopback = Object.values(networkInterfaces()).every((addrs) => (addrs ?? []).every((a) => a.internal));
const bindAddress = process.env['RINGMESH_BIND_ADDRESS'] ?? (onlyLoopback ? '127.0.0.1' : undefined);

const children: ChildProcess[] = [];
const say = (line: string): void => void process.stdout.write(`[ringmesh] ${line}\n`);

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: 'inherit' });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}`))));
  });
}

async function buildPageIfStale(): Promise<void> {
  const index = join(WEB_OUT, 'index.html');
  const sources = Math.max(newestMtime(join(ROOT, 'web-peer')), newestMtime(join(ROOT, 'shared')));
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  say('building the web page (vite build)…');
  await run(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn']);
}

/** The node-peer bundle (bin/node-peer.js runs it when current: a third of tsx's start-up CPU). */
async function buildNodePeerIfStale(): Promise<void> {
  if (bundleIsFresh()) return;
  say('bundling node-peer (esbuild)…');
  await run('npm', ['run', '--silent', 'build:node']);
}

/**
 * Puts the demo package next to the page (hard links, a copy across file systems) so the page
 * can read the tokenizer, and pieces no peer has, from the same origin: /models/<id>/.
 */
async function publishModel(modelDir: string, modelId: string): Promise<string> {
  const dir = join(WEB_OUT, 'models', modelId);
  await mkdir(dir, { recursive: true });
  for (const name of await readdir(modelDir)) {
    const target = join(dir, name);
    if (existsSync(target)) continue;
    await link(join(modelDir, name), target).catch(() => copyFile(join(modelDir, name), target));
  }
  return `/models/${modelId}/`;
}

/** Spawns a child, forwards its lines with a prefix, and resolves with the first line matching `ready`. */
function startChild(name: string, args: string[], ready: (line: string) => string | null, quiet: (line: string) => boolean): Promise<string> {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: false });
  children.push(child);
  return new Promise((resolve, reject) => {
    let done = false;
    const onLine = (line: string): void => {
      if (!done) {
        const hit = ready(line);
        if (hit !== null) {
          done = true;
          resolve(hit);
        }
      }
      if (!quiet(line)) process.stdout.write(`  ${name} | ${line}\n`);
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', (line) => process.stderr.write(`  ${name} | ${line}\n`));
    child.once('exit', (code, signal) => {
      if (!done) reject(new Error(`${name} exited (${code ?? signal}) before it was ready`));
      else if (!stopping) {
        say(`${name} exited (${code ?? signal}); stopping`);
        void stop(1);
      }
    });
  });
}

let stopping = false;
async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  say('stopping: the peer finishes or cancels its requests and leaves the room, then the server closes…');
  // Peer first (leaves the room cleanly), then the signaling server.
  for (const child of [...children].reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  say('stopped.');
  process.exit(code);
}

async function main(): Promise<void> {
  const options = parseStartOptions(process.argv.slice(2));
  if (options.help) {
    process.stdout.write(START_USAGE);
    return;
  }
  // Ctrl-C in a terminal reaches the children too (same process group); they shut down on their own
  // and `stop` waits for them.
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  await buildPageIfStale();
  await buildNodePeerIfStale();
  const pkg = await prepareStartModel(options.model, STATE, say);
  const { modelId } = pkg;
  const originPath = await publishModel(pkg.dir, modelId);
  await writeFile(join(WEB_OUT, 'ringmesh.json'), JSON.stringify({ room: modelId, origin: originPath, api: `http://${host}:${apiPort}/v1` }));
  const pageUrl = await startChild(
    'signal',
    [join(ROOT, 'bin', 'ringmesh-signal.js'), '--host', host, '--port', String(port), '--log-level', 'warn'],
    (line) => (line.startsWith('page ') ? line.slice(5).trim() : null),
    (line) => line.startsWith('signaling ') || line.startsWith('page '),
  );
  const signalUrl = `ws://${host}:${port}/signal`;
  const apiUrl = await startChild(
    'peer',
    [
      join(ROOT, 'bin', 'node-peer.js'),
      'start',
      '--signal',
      signalUrl,
      '--model',
      pkg.dir,
      '--memory',
      memory,
      '--api-port',
      String(apiPort),
      '--api-host',
      host,
      '--cache-dir',
      join(STATE, 'cache'),
      '--fit-timeout',
      '31536000',
      ...(bindAddress === undefined ? [] : ['--bind-address', bindAddress]),
    ],
    (line) => {
      const m = /"event":"api","url":"([^"]+)"/.exec(line);
      return m ? m[1]! : null;
    },
    (line) => /"event":"(progress|api)"/.test(line),
  );
  say('');
  say(`open ${pageUrl}?room=${modelId}`);
  say(`     (the page contributes this browser's GPU to the ring and has a chat box)`);
  say(`OpenAI-compatible API: ${apiUrl}/v1  (model "${pkg.manifest.name}")`);
  if (pkg.manifest.tokenizer.chatTemplate === null) {
    say(`     ${pkg.manifest.name} has no chat template: it continues text, e.g.`);
    say(
      `     curl ${apiUrl}/v1/completions -H 'content-type: application/json' -d '{"model":"${pkg.manifest.name}","prompt":"The machine","max_tokens":40,"temperature":0}'`,
    );
  }
  say('Ctrl-C stops everything.');
  say('');
}

main().catch(async (err: unknown) => {
  // The script's edge: one line, then stop whatever already started; a bad flag exits 2.
  if (err instanceof StartOptionError) {
    process.stderr.write(`[ringmesh] npm start: ${err.message}\n${START_USAGE}`);
    process.exit(2);
  }
  process.stderr.write(`[ringmesh] npm start failed: ${err instanceof Error ? err.message : String(err)}\n`);
  await stop(1);
});
