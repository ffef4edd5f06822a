// Acceptance (item 3): `node-peer` help text, each bad flag, an unreachable signaling
// server and a model that does not fit — a clear message and a non-zero exit code each. Plus
// `node-peer status` and a clean SIGINT. Real processes; run inside a loopback-only namespace.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoModel } from '../../../node-peer/convert/demo-model.ts';
import { mintJoinToken } from '../../../signaling/join-token.ts';
import { startPeerProcess } from '../../util/pieces-processes.ts';
import { freePort, startSignalingProcess, type SignalingProcess } from '../../util/signaling-process.ts';
import { runCli, type CliRun } from '../../util/run-cli.ts';
import { makeTempDir } from '../../util/temp-dir.ts';

const tmp = makeTempDir('cli');
let signaling: SignalingProcess;
let model: string;

const cli = (args: string[], env: Record<string, string> = {}): Promise<CliRun> => runCli('node-peer.js', args, env);

beforeAll(async () => {
  model = tmp.path('demo');
  await writeDemoModel(model, { layers: 2, hidden: 64, heads: 4, vocab: 512, context: 256, seed: 1 });
  signaling = await startSignalingProcess({ port: await freePort() });
});

afterAll(async () => {
  await signaling?.stop();
  tmp.cleanup();
});

const start = (...extra: string[]): string[] => [
  'start',
  '--signal',
  signaling.url,
  '--model',
  model,
  '--cache-dir',
  tmp.path('cache'),
  '--bind-address',
  '127.0.0.1',
  ...extra,
];

describe('node-peer help', () => {
  it('lists the commands', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['start', 'status', 'generate', 'convert', 'demo-model']) expect(r.stdout).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
  });

  it('start --help explains every option, its environment variable, examples and exit codes', async () => {
    const r = await cli(['start', '--help']);
    expect(r.code).toBe(0);
    for (const [flag, env] of [
      ['--signal', 'RINGMESH_SIGNAL'],
      ['--model', 'RINGMESH_MODEL'],
      ['--memory', 'RINGMESH_MEMORY'],
      ['--api-port', 'RINGMESH_API_PORT'],
      ['--cache-dir', 'RINGMESH_CACHE_DIR'],
      ['--token', 'RINGMESH_TOKEN'],
      ['--ice-server', 'RINGMESH_ICE_SERVERS'],
    ]) {
      expect(r.stdout).toContain(flag!);
      expect(r.stdout).toContain(env!);
    }
    expect(r.stdout).toMatch(/Examples:/);
    expect(r.stdout).toMatch(/3 insufficient memory/);
    expect(r.stdout).toMatch(/4 signaling server unreachable/);
    expect(r.stdout).toMatch(/5 join refused/);
  });
});

describe('node-peer start: bad flags exit 2 with a message naming the flag', () => {
  const cases: Array<[string, string[], RegExp, Record<string, string>?]> = [
    ['missing --signal', ['start', '--model', 'x'], /required option '--signal <url>' not specified/],
    ['missing --model', ['start', '--signal', 'ws://127.0.0.1:1/signal'], /required option '--model <dir\|url\|id>' not specified/],
    ['--signal not ws', ['start', '--signal', 'http://127.0.0.1/signal', '--model', 'x'], /--signal.*must start with ws:\/\/ or wss:\/\//],
    ['--signal not a URL', ['start', '--signal', 'nowhere', '--model', 'x'], /--signal.*is not a URL/],
    ['--memory not a size', ['start', '--signal', 'ws://h/signal', '--model', 'x', '--memory', 'lots'], /--memory.*"lots" is not a size.*8GiB/],
    ['--memory bad unit', ['start', '--signal', 'ws://h/signal', '--model', 'x', '--memory', '8XB'], /--memory.*not a size/],
    ['--api-port out of range', ['start', '--signal', 'ws://h/signal', '--model', 'x', '--api-port', '70000'], /--api-port.*not a TCP port/],
    [
      '--ice-server not stun/turn',
      ['start', '--signal', 'ws://h/signal', '--model', 'x', '--ice-server', 'http://stun'],
      /--ice-server.*not an ICE server URL/,
    ],
    [
      '--ice-server TURN without credentials',
      ['start', '--signal', 'ws://h/signal', '--model', 'x', '--ice-server', 'turn:turn.example.org:3478'],
      /--ice-server.*has no credentials: TURN needs turn:user:password@host:port/,
    ],
    ['--threads 0', ['start', '--signal', 'ws://h/signal', '--model', 'x', '--threads', '0'], /--threads.*not a thread count/],
    [
      '--link-mtu too large',
      ['start', '--signal', 'ws://h/signal', '--model', 'x', '--link-mtu', '9000'],
      /--link-mtu.*"9000" is not a link MTU: expected an integer from 1200 to 4096/,
    ],
    [
      '--direct-links not on/off',
      ['start', '--signal', 'ws://h/signal', '--model', 'x', '--direct-links', 'maybe'],
      /--direct-links.*"maybe" is not on or off/,
    ],
    [
      '--direct-links on without an address',
      ['start', '--signal', 'ws://h/signal', '--model', 'x', '--direct-links', 'on'],
      /'--direct-links on' needs --bind-address/,
    ],
    [
      '--direct-links on with a wildcard address',
      ['start', '--signal', 'ws://h/signal', '--model', 'x', '--direct-links', 'on', '--bind-address', '0.0.0.0'],
      /'--direct-links on' needs --bind-address/,
    ],
    ['--fit-timeout negative', ['start', '--signal', 'ws://h/signal', '--model', 'x', '--fit-timeout', '-1'], /--fit-timeout.*not a duration/],
    [
      '--kv-dtype bogus',
      ['start', '--signal', 'ws://h/signal', '--model', 'x', '--kv-dtype', 'bogus'],
      /--kv-dtype.*not a KV cache type: expected fp32 or fp16/,
    ],
    ['unknown flag', ['start', '--signal', 'ws://h/signal', '--model', 'x', '--bogus'], /unknown option '--bogus'/],
    ['bad env var', ['start', '--signal', 'ws://h/signal', '--model', 'x'], /--memory.*from env 'RINGMESH_MEMORY'.*not a size/, { RINGMESH_MEMORY: 'much' }],
    ['bad RINGMESH_SIGNAL', ['start', '--model', 'x'], /--signal.*from env 'RINGMESH_SIGNAL'.*must start with ws:\/\//, { RINGMESH_SIGNAL: 'http://h/signal' }],
    [
      'bad RINGMESH_API_PORT',
      ['start', '--signal', 'ws://h/signal', '--model', 'x'],
      /--api-port.*from env 'RINGMESH_API_PORT'.*not a TCP port/,
      { RINGMESH_API_PORT: 'eighty' },
    ],
  ];
  for (const [name, args, message, env] of cases) {
    it(name, async () => {
      const r = await cli(args, env);
      expect(r.stderr).toMatch(message);
      expect(r.code).toBe(2);
    });
  }

  it('every option also comes from the environment', async () => {
    // All flags from RINGMESH_*; the signaling URL points nowhere, so it gets as far as probing it.
    const r = await cli(['start'], {
      RINGMESH_SIGNAL: `ws://127.0.0.1:${await freePort()}/signal`,
      RINGMESH_MODEL: model,
      RINGMESH_MEMORY: '64MiB',
      RINGMESH_API_PORT: '0',
      RINGMESH_ICE_SERVERS: 'stun:127.0.0.1:3478,turn:user:pass@127.0.0.1:3479',
      RINGMESH_KV_DTYPE: 'fp16',
    });
    expect(r.stderr).toMatch(/cannot reach the signaling server/);
    expect(r.code).toBe(4);
  });
});

describe('node-peer start: runtime failures', () => {
  it('an unreachable signaling server: exit 4 naming the URL', async () => {
    const url = `ws://127.0.0.1:${await freePort()}/signal`;
    const started = Date.now();
    const r = await cli(['start', '--signal', url, '--model', model, '--cache-dir', tmp.path('c-unreach')]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`cannot reach the signaling server at ${url}: ECONNREFUSED`);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('a model that does not fit: exit 3 saying how much memory is missing', async () => {
    const r = await cli(start('--memory', '64KiB', '--fit-timeout', '0', '--cache-dir', tmp.path('c-small')));
    expect(r.stderr).toMatch(
      /ModelDoesNotFitError: insufficient memory: the model needs [\d.]+ (KiB|MiB) more than the room's peers offer \(this peer: --memory 64\.0 KiB/,
    );
    expect(r.code).toBe(3);
  });
});

describe('a signaling server that requires join tokens', () => {
  it('a peer configured only from RINGMESH_* joins with its token; without one it exits 5 saying so', async () => {
    const port = await freePort();
    const secret = 'cli-test-secret';
    const server = spawn(
      process.execPath,
      [
        join(import.meta.dirname, '../../../bin/ringmesh-signal.js'),
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--token-secret',
        secret,
        '--log-level',
        'warn',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        createInterface({ input: server.stdout! }).on('line', (line) => line.startsWith('signaling ') && resolve());
        server.once('exit', (code) => reject(new Error(`ringmesh-signal exited (${code})`)));
      });
      const url = `ws://127.0.0.1:${port}/signal`;
      const refused = await cli(['start', '--signal', url, '--model', model, '--cache-dir', tmp.path('c-refused'), '--bind-address', '127.0.0.1']);
      expect(refused.stderr).toMatch(
        /JoinRefusedError: the signaling server at .* refused this peer \(JoinTokenMissingError\); it requires a join token.*--token or RINGMESH_TOKEN/,
      );
      expect(refused.code).toBe(5);

      const cacheDir = tmp.path('c-env');
      const env = {
        RINGMESH_SIGNAL: url,
        RINGMESH_MODEL: model,
        RINGMESH_MEMORY: '64MiB',
        RINGMESH_API_PORT: '0',
        RINGMESH_CACHE_DIR: cacheDir,
        RINGMESH_TOKEN: mintJoinToken({ secret, room: '*' }),
        RINGMESH_THREADS: '1',
        RINGMESH_FIT_TIMEOUT: '30',
      };
      const peer = startPeerProcess('env-peer', [], { env });
      try {
        const api = String((await peer.waitFor((e) => e.event === 'api', 60_000))['url']);
        await peer.waitFor((e) => e.event === 'ring-ready', 60_000);
        expect(existsSync(join(cacheDir, 'pieces'))).toBe(true);
        const models = (await (await fetch(`${api}/v1/models`)).json()) as { data: { id: string }[] };
        expect(models.data.map((m) => m.id)).toEqual(['demo-2x64-seed1']);
        peer.kill('SIGINT');
        expect(await peer.exited).toBe(0);
      } finally {
        peer.kill('SIGKILL');
      }
    } finally {
      server.kill('SIGTERM');
    }
  });
});

describe('a running peer: status and SIGINT', () => {
  it('status reads the API and the signaling server; SIGINT leaves the room and exits 0', async () => {
    const peer = startPeerProcess('api-peer', [
      '--signal',
      signaling.url,
      '--model',
      model,
      '--memory',
      '64MiB',
      '--api-port',
      '0',
      '--cache-dir',
      tmp.path('c-run'),
    ]);
    try {
      const api = String((await peer.waitFor((e) => e.event === 'api', 60_000))['url']);
      await peer.waitFor((e) => e.event === 'ring-ready', 60_000);
      const st = await cli(['status', '--api', api, '--signal', signaling.url, '--json']);
      expect(st.code).toBe(0);
      const status = JSON.parse(st.stdout) as {
        peer: { model: string; layers: unknown; readyRing: unknown[] };
        models: string[];
        signaling: { peers: number };
      };
      expect(status.models).toEqual(['demo-2x64-seed1']);
      expect(status.peer).toMatchObject({ model: 'demo-2x64-seed1', layers: { start: 0, end: 2 } });
      expect(status.peer.readyRing).toHaveLength(1);
      expect(status.signaling.peers).toBe(1);
      // A streamed request is open when Ctrl-C comes: it is cancelled (its stream ends), not left hanging.
      const res = await fetch(`${api}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'demo-2x64-seed1', prompt: 'Once', max_tokens: 240, temperature: 0, stream: true }),
      });
      const reader = res.body!.getReader();
      expect((await reader.read()).done).toBe(false);
      peer.kill('SIGINT');
      const drained = (async (): Promise<void> => {
        for (;;) if ((await reader.read()).done) return;
      })().catch(() => undefined); // a cut connection is an acceptable end too
      await drained;
      expect(await peer.exited).toBe(0);
      expect(peer.events.some((e) => e.event === 'stopping')).toBe(true);
      const health = (await (await fetch(`${signaling.httpUrl}healthz`)).json()) as { peers: number };
      expect(health.peers).toBe(0);
    } finally {
      peer.kill('SIGKILL');
    }
  });

  it('status of nothing running: exit 1; with no target: exit 2', async () => {
    const r = await cli(['status', '--api', `http://127.0.0.1:${await freePort()}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot reach a node peer's API at http:\/\/127\.0\.0\.1:\d+\/status: ECONNREFUSED/);
    const none = await cli(['status']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/give --api <url> and\/or --signal <url>/);
  });
});
