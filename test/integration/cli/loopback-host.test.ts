// A host whose only interface is loopback (a container, a network namespace: the tests run in
// one): two peers started exactly as the README says, with no --bind-address, form a ring whose
// links open, and the API answers (docs/troubleshooting.md, "Peers do not connect"). And a ring whose
// links do not open is not served as ready: an API request ends with an error within its
// deadline (docs/ring.md, "Deadlines"; docs/api.md).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoModel } from '../../../node-peer/convert/demo-model.ts';
import { startPeerProcess, type PeerProcess } from '../../util/pieces-processes.ts';
import { freePort } from '../../util/signaling-process.ts';
import { makeTempDir } from '../../util/temp-dir.ts';
import { joinUnlinkedMember, type UnlinkedMember } from '../../util/unlinked-member.ts';

const ROOT = join(import.meta.dirname, '../../..');
const tmp = makeTempDir('loopback-host');
const SLACK_MS = 15_000;
let server: ChildProcess;
let signalUrl = '';
let model = '';
const peers: PeerProcess[] = [];

beforeAll(async () => {
  model = tmp.path('model');
  await writeDemoModel(model, { layers: 2, hidden: 64, heads: 4, vocab: 512, context: 256, seed: 1 });
  const port = await freePort();
  // README: `npx ringmesh-signal --host 0.0.0.0 --port 8787`.
  server = spawn(process.execPath, [join(ROOT, 'bin/ringmesh-signal.js'), '--host', '0.0.0.0', '--port', String(port), '--log-level', 'warn'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: server.stdout! }).on('line', (line) => line.startsWith('signaling ') && resolve());
    server.once('exit', (code) => reject(new Error(`ringmesh-signal exited (${code})`)));
  });
  signalUrl = `ws://127.0.0.1:${port}/signal`;
});

afterAll(async () => {
  for (const p of peers) p.kill('SIGKILL');
  await Promise.all(peers.map((p) => p.exited));
  server?.kill('SIGTERM');
  tmp.cleanup();
});

/** `node-peer start …args` with no --bind-address; its cache under its own XDG_CACHE_HOME (the README's commands pass no --cache-dir). */
function start(name: string, args: string[]): PeerProcess {
  const p = startPeerProcess(name, ['--signal', signalUrl, ...args], { asReadme: true, env: { XDG_CACHE_HOME: tmp.path(`cache-${name}`) } });
  peers.push(p);
  return p;
}

const complete = (api: string, body: Record<string, unknown>): Promise<Response> =>
  fetch(`${api}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'demo-2x64-seed1', prompt: 'Once', max_tokens: 8, temperature: 0, ...body }),
  });

describe('node-peer start on a loopback-only host, as the README says', () => {
  it('two peers form a ring without --bind-address and /v1/completions answers', async () => {
    // README: the seed with the package and the API; every other machine by model id. 600 KiB each
    // holds an end and one of the two layers (~930 KiB in all with KV at context 256), never the
    // whole model: the planner must split it over both, so the ring's own links must open too.
    const seed = start('seed', ['--model', model, '--memory', '600KiB', '--api-port', String(await freePort())]);
    const api = String((await seed.waitFor((e) => e.event === 'api', 60_000))['url']);
    const modelId = String((await seed.waitFor((e) => e.event === 'joined', 60_000))['modelId']);
    const other = start('other', ['--model', modelId, '--memory', '600KiB']);
    const otherId = String((await other.waitFor((e) => e.event === 'joined', 60_000))['peerId']);
    // The other peer fetched its layers from the seed: the links opened.
    await seed.waitFor((e) => e.event === 'ring-ready' && (e['ring'] as string[]).includes(otherId) && (e['ring'] as string[]).length === 2, 120_000);
    const res = await complete(api, {});
    expect(res.status).toBe(200);
    const body = (await res.json()) as { choices: { text: string; finish_reason: string }[]; usage: { completion_tokens: number } };
    expect(body.choices[0]?.finish_reason).toBe('length');
    expect(body.usage.completion_tokens).toBe(8);
  });
});

describe('an API peer whose ring cannot open its links', () => {
  let unlinked: UnlinkedMember | undefined;
  afterAll(async () => {
    await unlinked?.close();
  });

  it('is never ready, and requests end within --first-token-timeout with 503 no_ring, streamed or not', async () => {
    // A room of its own: another model (seed 2) so the ring above is not disturbed.
    const own = tmp.path('model-2');
    const { modelId } = await writeDemoModel(own, { layers: 2, hidden: 64, heads: 4, vocab: 512, context: 256, seed: 2 });
    // Neither can hold the model alone (600 KiB each, as above): the only plan splits it over the
    // seed and the member whose links never open.
    const seed = start('seed-2', [
      '--model',
      own,
      '--memory',
      '600KiB',
      '--api-port',
      String(await freePort()),
      '--first-token-timeout',
      '2',
      '--token-timeout',
      '2',
    ]);
    const api = String((await seed.waitFor((e) => e.event === 'api', 60_000))['url']);
    await seed.waitFor((e) => e.event === 'joined', 60_000);
    unlinked = await joinUnlinkedMember(signalUrl, modelId, 600 * 1024);
    const member = unlinked.peerId;
    await seed.waitFor((e) => e.event === 'ring-link-down' && e['peer'] === member, 60_000);
    for (const stream of [false, true]) {
      const started = performance.now();
      const res = await complete(api, { model: 'demo-2x64-seed2', stream });
      const body = (await res.json()) as { error: { code: string } };
      expect(res.status).toBe(503);
      expect(body.error.code).toBe('no_ring');
      expect(performance.now() - started).toBeLessThan(2_000 + SLACK_MS);
    }
    expect(seed.events.some((e) => e.event === 'ring-ready' && (e['ring'] as string[]).includes(member))).toBe(false);
  });
});
