// What a user of `node-peer start` and `ringmesh-signal` sees when something is wrong or when they
// stop it: one line per error (no stack, no 70 lines of help) with README's exit codes, the API
// port checked before the room is joined, Ctrl-C (also through npx) exiting 0, and the console
// format. Real processes; run inside a loopback-only namespace.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoModel } from '../../../node-peer/convert/demo-model.ts';
import { startPeerProcess } from '../../util/pieces-processes.ts';
import { freePort, startSignalingProcess, type SignalingProcess } from '../../util/signaling-process.ts';
import { runCli, type CliRun } from '../../util/run-cli.ts';
import { makeTempDir } from '../../util/temp-dir.ts';

const ROOT = join(import.meta.dirname, '../../..');
const tmp = makeTempDir('user-view');
let signaling: SignalingProcess;
let model: string;

const run = (bin: string, args: string[]): Promise<CliRun> => runCli(bin, args);

/** stderr without lines a dependency prints on its own (Dawn's Vulkan warning when probing WebGPU). */
const ownLines = (stderr: string): string[] => stderr.split('\n').filter((l) => l !== '' && !/Vulkan|dawn-src/.test(l));

beforeAll(async () => {
  model = tmp.path('demo');
  await writeDemoModel(model, { layers: 2, hidden: 64, heads: 4, vocab: 512, context: 256, seed: 3 });
  signaling = await startSignalingProcess({ port: await freePort() });
});

afterAll(async () => {
  await signaling?.stop();
  tmp.cleanup();
});

describe('flag errors: one line, a pointer to --help, exit 2', () => {
  const cases: Array<[string, string, string[], RegExp, string]> = [
    [
      'an unknown flag is named before missing required ones',
      'node-peer.js',
      ['start', '--bogus'],
      /^error: unknown option '--bogus'/,
      '(see node-peer start --help)',
    ],
    [
      'a missing required option',
      'node-peer.js',
      ['start', '--model', 'x'],
      /^error: required option '--signal <url>' not specified$/,
      '(see node-peer start --help)',
    ],
    [
      'a bad --log-format',
      'node-peer.js',
      ['start', '--signal', 'ws://h/signal', '--model', 'x', '--log-format', 'yaml'],
      /--log-format.*"yaml" is not a log format/,
      '(see node-peer start --help)',
    ],
    ['an unknown command', 'node-peer.js', ['bogus'], /^error: unknown command 'bogus'/, '(see node-peer --help)'],
    [
      'ringmesh-signal --port abc',
      'ringmesh-signal.js',
      ['--port', 'abc'],
      /^error: option '--port <port>' argument 'abc' is invalid/,
      '(see ringmesh-signal --help)',
    ],
    ['ringmesh-signal --bogus', 'ringmesh-signal.js', ['--bogus'], /^error: unknown option '--bogus'/, '(see ringmesh-signal --help)'],
  ];
  for (const [name, bin, args, first, pointer] of cases) {
    it(name, async () => {
      const r = await run(bin, args);
      expect(r.code).toBe(2);
      expect(ownLines(r.stderr)).toEqual([expect.stringMatching(first), pointer]);
      expect(r.stdout).toBe('');
    });
  }
});

describe('start failures before the network: one line, no stack', () => {
  it('a --model directory that does not exist: exit 2 naming it', async () => {
    const r = await run('node-peer.js', ['start', '--signal', signaling.url, '--model', tmp.path('no-such-model'), '--cache-dir', tmp.path('c1')]);
    expect(r.code).toBe(2);
    expect(ownLines(r.stderr)).toEqual([
      expect.stringMatching(/^error: ModelNotFoundError: --model .*no-such-model: no such directory; expected a model package directory/),
    ]);
  });

  it('a --model directory without a package: exit 2', async () => {
    const r = await run('node-peer.js', ['start', '--signal', signaling.url, '--model', tmp.dir, '--cache-dir', tmp.path('c2')]);
    expect(r.code).toBe(2);
    expect(ownLines(r.stderr)).toEqual([expect.stringMatching(/ModelNotFoundError: .*the directory has no manifest\.json/)]);
  });

  it('an --api-port in use: exit 1 before the peer joins its room', async () => {
    const taken = createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const port = (taken.address() as { port: number }).port;
    try {
      const r = await run('node-peer.js', [
        'start',
        '--signal',
        signaling.url,
        '--model',
        model,
        '--memory',
        '64MiB',
        '--api-port',
        String(port),
        '--cache-dir',
        tmp.path('c3'),
        '--log-format',
        'json',
      ]);
      expect(r.code).toBe(1);
      expect(ownLines(r.stderr)).toEqual([
        `error: ApiPortUnavailableError: --api-port ${port}: 127.0.0.1:${port} is already in use: stop what listens there or pick another --api-port (0 = any free port)`,
      ]);
      const events = r.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { event: string }).event);
      expect(events).not.toContain('joined');
    } finally {
      taken.close();
    }
  });
});

describe('console format and a clean stop', () => {
  it('off a terminal the lines are JSON by default; two SIGINTs at once (one Ctrl-C, delivered twice) stop it with 0', async () => {
    const peer = startPeerProcess('json-peer', ['--signal', signaling.url, '--model', model, '--memory', '64MiB', '--cache-dir', tmp.path('c4')]);
    try {
      await peer.waitFor((e) => e.event === 'ring-ready', 60_000);
      expect(peer.events[0]).toMatchObject({ event: expect.any(String), t: expect.any(Number) });
      peer.kill('SIGINT');
      peer.kill('SIGINT');
      expect(await peer.exited).toBe(0);
    } finally {
      peer.kill('SIGKILL');
    }
  });

  it('--log-format pretty forces human lines off a terminal', async () => {
    const child = spawn(
      process.execPath,
      [
        join(ROOT, 'bin/node-peer.js'),
        'start',
        '--signal',
        signaling.url,
        '--model',
        model,
        '--memory',
        '64MiB',
        '--cache-dir',
        tmp.path('c5'),
        '--bind-address',
        '127.0.0.1',
        '--log-format',
        'pretty',
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const exited = once(child, 'exit');
    try {
      const lines: string[] = [];
      await new Promise<void>((resolve, reject) => {
        createInterface({ input: child.stdout }).on('line', (l) => {
          lines.push(l);
          if (/ ring-ready /.test(l)) resolve();
        });
        void exited.then(() => reject(new Error(`exited before ring-ready: ${lines.join('\n')}`)));
      });
      expect(lines.find((l) => / joined /.test(l))).toMatch(
        /^\d\d:\d\d:\d\d joined {7}peerId=\S+ modelId=[0-9a-f]{12}… model=demo-2x64-seed3 memoryBytes=64\.0 MiB$/,
      );
      expect(lines.some((l) => l.startsWith('{'))).toBe(false);
      child.kill('SIGTERM');
      expect((await exited)[0]).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('npx node-peer start: Ctrl-C (SIGINT to the whole process group, as a terminal sends it) exits 0', async () => {
    const child = spawn(
      'npx',
      [
        '--no-install',
        'node-peer',
        'start',
        '--signal',
        signaling.url,
        '--model',
        model,
        '--memory',
        '64MiB',
        '--cache-dir',
        tmp.path('c6'),
        '--bind-address',
        '127.0.0.1',
      ],
      { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const exited = once(child, 'exit');
    try {
      await new Promise<void>((resolve, reject) => {
        createInterface({ input: child.stdout! }).on('line', (l) => l.includes('"ring-ready"') && resolve());
        void exited.then(() => reject(new Error('npx exited before ring-ready')));
      });
      process.kill(-child.pid!, 'SIGINT');
      expect(await exited).toEqual([0, null]);
    } finally {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
    }
  });
});
